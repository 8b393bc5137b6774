"""The batching worker on its own: batch limits, the worker thread, failures, closing, and the
ONNX Runtime threads a served model is given."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from medfusion_plugin_serve.batching import Batcher
from medfusion_plugin_serve.model import ServedModel


class Recorder:
    """A predictor that records each call's items and thread; ``fail`` makes it raise."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[Any]] = []
        self.threads: set[str] = set()
        self.fail = fail

    def __call__(self, items: list[Any]) -> list[dict[str, Any]]:
        self.calls.append(list(items))
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("model call failed")
        return [{"value": item * 10} for item in items]


def _serve(batcher: Batcher, *requests: list[Any]) -> list[Any]:
    async def run() -> list[Any]:
        batcher.start()
        with batcher.lease():
            answers = await asyncio.gather(*(batcher.submit(r) for r in requests), return_exceptions=True)
        batcher.close()
        await batcher.wait_closed()
        return answers

    return asyncio.run(run())


def test_batches_are_cut_at_max_batch_on_the_worker_thread() -> None:
    predict = Recorder()
    batcher = Batcher(predict, max_batch=4, max_wait_s=0.05, name="test-infer")
    [answer] = _serve(batcher, list(range(10)))
    assert answer == [{"value": i * 10} for i in range(10)]
    assert [len(call) for call in predict.calls] == [4, 4, 2]
    assert predict.threads == {"test-infer"} and batcher.stopped


def test_a_failed_model_call_fails_every_request_in_it() -> None:
    batcher = Batcher(Recorder(fail=True), max_batch=8, max_wait_s=0.05)
    answers = _serve(batcher, [1], [2, 3])
    assert all(isinstance(a, RuntimeError) and str(a) == "model call failed" for a in answers)


def test_closing_flushes_a_waiting_batch_at_once() -> None:
    predict = Recorder()
    batcher = Batcher(predict, max_batch=8, max_wait_s=60.0)

    async def run() -> list[Any]:
        batcher.start()
        with batcher.lease():
            waiting = asyncio.ensure_future(batcher.submit([7]))
            while batcher.pending == 0:
                await asyncio.sleep(0.01)
            batcher.close()  # without it the lone patient would wait 60 s for company
            answer = await asyncio.wait_for(waiting, 10)
        await asyncio.wait_for(batcher.wait_closed(), 10)
        return answer

    assert asyncio.run(run()) == [{"value": 70}]
    assert predict.calls == [[7]]


@pytest.mark.parametrize("threads", [1, 2])
def test_a_served_model_uses_the_threads_it_is_given(models: dict[str, Any], threads: int) -> None:
    model = ServedModel(models["artifacts"][0], "demo", threads=threads)
    options = model.session.get_session_options()
    assert options.intra_op_num_threads == threads
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"

"""Testing helpers for MedFusion and its plugin authors.

- :func:`isolated_host`: a plugin host with autoload off, made current for a ``with`` block, so
  plugins installed in the environment never leak into a test; register test plugins by hand.
- :func:`install_fake_distribution`: write a real ``.dist-info`` with an entry point on a folder
  that is put on ``sys.path``, to test discovery exactly as pip-installed plugins are found.
- ``medfusion_core.testing.conformance``: the conformance kit for components of every kind.
- ``medfusion_core.testing.concurrency.race``: call a function from many threads at once.

The pytest plugin (auto-registered) provides the fixtures ``medfusion_host`` and
``fake_distribution``.
"""

from medfusion_core.testing.plugins import install_fake_distribution, isolated_host

__all__ = ["install_fake_distribution", "isolated_host"]

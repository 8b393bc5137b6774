/** ECharts in React, loaded on demand: `LineChart` draws given series; `LiveChart` exposes an
 * append function that writes into the chart directly (no React state per point). */
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import type { Point } from "./batcher";

type ECharts = import("echarts/core").ECharts;

export interface Series {
  name: string;
  data: Point[];
  dashed?: boolean;
}

function useEChart(): [React.RefObject<HTMLDivElement>, ECharts | null] {
  const ref = useRef<HTMLDivElement>(null);
  const [chart, setChart] = useState<ECharts | null>(null);
  useEffect(() => {
    let instance: ECharts | null = null;
    let live = true;
    void import("./echarts").then(({ echarts }) => {
      if (!live || !ref.current) return;
      const dark = document.documentElement.dataset.theme === "dark";
      instance = echarts.init(ref.current, dark ? "dark" : undefined);
      setChart(instance);
    });
    const resize = () => instance?.resize();
    window.addEventListener("resize", resize);
    return () => {
      live = false;
      window.removeEventListener("resize", resize);
      instance?.dispose();
    };
  }, []);
  return [ref, chart];
}

function option(series: Series[], xName: string, yName: string) {
  return {
    animation: false,
    tooltip: { trigger: "axis" as const },
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 30, bottom: 40 },
    xAxis: { type: "value" as const, name: xName, nameLocation: "middle" as const, nameGap: 25, scale: true },
    yAxis: { type: "value" as const, name: yName, scale: true },
    series: series.map((s) => ({
      name: s.name,
      type: "line" as const,
      showSymbol: false,
      data: s.data,
      lineStyle: s.dashed ? { type: "dashed" as const } : undefined,
    })),
  };
}

/** A static line chart of `series`. */
export function LineChart({ series, xName = "", yName = "", label }: { series: Series[]; xName?: string; yName?: string; label: string }) {
  const [ref, chart] = useEChart();
  useEffect(() => {
    chart?.setOption(option(series, xName, yName), true);
  }, [chart, series, xName, yName]);
  return <div ref={ref} className="mf-chart" role="img" aria-label={label} />;
}

export interface LiveChartHandle {
  /** Add points to named series (creating a series on first sight). */
  append: (batch: Map<string, Point[]>) => void;
}

/** A chart that is fed by `append` (from a `PointBatcher`); it counts the points it shows in
 * `data-points` so that tests can see them arrive. */
export const LiveChart = forwardRef<LiveChartHandle, { label: string; xName?: string }>(function LiveChart(
  { label, xName = "step" },
  handle,
) {
  const [ref, chart] = useEChart();
  const data = useRef(new Map<string, Point[]>());
  const pending = useRef<Map<string, Point[]>[]>([]);
  const draw = (instance: ECharts) => {
    const series = [...data.current].map(([name, points]) => ({ name, data: points }));
    instance.setOption(option(series, xName, ""), { replaceMerge: ["series"] });
    const total = series.reduce((n, s) => n + s.data.length, 0);
    ref.current?.setAttribute("data-points", String(total));
  };
  useImperativeHandle(handle, () => ({
    append(batch) {
      for (const [name, points] of batch) {
        const list = data.current.get(name);
        if (list) list.push(...points);
        else data.current.set(name, [...points]);
      }
      if (chart) draw(chart);
      else pending.current.push(batch);
    },
  }));
  useEffect(() => {
    if (chart && pending.current.length) {
      pending.current = [];
      draw(chart);
    }
  });
  return <div ref={ref} className="mf-chart" role="img" aria-label={label} data-points="0" />;
});

// Time-series charts with uPlot, loaded only by the screens that draw one.

import { html, useEffect, useRef } from './vendor/preact-htm.js';

let uplot = null;
function loadUplot() {
  if (!uplot) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = new URL('./vendor/uplot.css', import.meta.url).href;
    document.head.appendChild(css);
    uplot = import('./vendor/uplot.js').then((m) => m.default);
  }
  return uplot;
}

const COLOURS = ['#067647', '#b42318', '#2457c5', '#b54708'];

/**
 * A line chart of `series` ({label, values}) over `times` (epoch seconds), with a text
 * summary for screen readers.
 */
export function TimeChart({ title, times, series, height = 220 }) {
  const box = useRef(null);
  useEffect(() => {
    let chart = null;
    let live = true;
    loadUplot().then((UPlot) => {
      if (!live || !box.current) return;
      const width = Math.max(280, box.current.clientWidth);
      chart = new UPlot({
        width, height,
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
        axes: [{}, {}],
        // One point alone would stretch the axis over years: give it an hour each side.
        scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - 3600, max + 3600] : [min, max]) } },
      }, [times, ...series.map((s) => s.values)], box.current);
    });
    return () => {
      live = false;
      if (chart) chart.destroy();
    };
  }, [JSON.stringify(times), JSON.stringify(series)]);
  const totals = series.map((s) => `${s.label}: ${s.values.reduce((a, b) => a + (b || 0), 0)}`).join(', ');
  return html`<figure class="chart">
    <figcaption>${title} <span class="muted">(${totals})</span></figcaption>
    <div ref=${box} role="img" aria-label=${`${title}: ${totals}`}></div>
  </figure>`;
}

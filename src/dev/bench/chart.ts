import { MEASURED_PROCESSES, type PassFigures } from './figures.js';

/** What the chart shows besides the passes: a title and a few lines saying where the figures come from. */
export interface ChartHeader {
  title: string;
  lines: string[];
}

const WIDTH = 960;
const LEFT = 170;
const RIGHT = 40;
const PLOT = WIDTH - LEFT - RIGHT;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const PASS_COLOURS = { baseline: '#7a8fb3', product: '#e07b39' } as const;
const PERCENTILE_COLOURS = ['#9ecae1', '#4292c6', '#08306b'];
const PROCESS_COLOURS = ['#4e79a7', '#59a14f', '#f28e2b', '#e15759', '#b07aa1', '#9c9c9c'];

/** About as many characters of the 12 px header font as fit across the chart. */
const HEADER_LINE_CHARS = 135;

/** Breaks `line` at spaces into lines of at most `width` characters (a longer word stays whole). */
function wrap(line: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = `  ${word}`;
    } else current = current ? `${current} ${word}` : word;
  }
  return [...lines, current];
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const known = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(content)}</text>`;
}

/**
 * A round upper bound for an axis and the step of its grid lines (1, 2, 2.5 or 5 times a power of
 * ten), leaving `labelRoom` pixels right of the longest bar for its label.
 */
function axis(longest: number, labelRoom: number): { top: number; step: number } {
  if (!(longest > 0)) return { top: 1, step: 0.25 };
  const max = longest / (1 - labelRoom / PLOT);
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = magnitude * ([1, 2, 2.5, 5].find((n) => n * magnitude >= raw) ?? 10);
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

/** Vertical grid lines with their labels, for a horizontal value axis from x = LEFT. */
function verticalGrid(top: number, step: number, y0: number, y1: number): string {
  const parts: string[] = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    const x = LEFT + (v / top) * PLOT;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y1}" stroke="#e3e3e3"/>`);
    parts.push(text(x, y1 + 14, String(Number(v.toPrecision(4))), 'font-size="11" fill="#666" text-anchor="middle"'));
  }
  return parts.join('');
}

function panelTitle(title: string, y: number): string {
  return text(20, y, title, 'font-size="15" font-weight="600" fill="#222"');
}

function legend(items: { name: string; colour: string }[], y: number): string {
  let x = LEFT;
  return items
    .map(({ name, colour }) => {
      const part = `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${colour}"/>${text(x + 17, y, name, 'font-size="12" fill="#333"')}`;
      x += 30 + name.length * 7;
      return part;
    })
    .join('');
}

/** One horizontal bar per pass. */
function throughputPanel(passes: PassFigures[], y: number): { svg: string; height: number } {
  const { top, step } = axis(Math.max(0, ...passes.map((p) => p.throughput).filter(known)), 140);
  const rowHeight = 30;
  const plotTop = y + 16;
  const plotBottom = plotTop + passes.length * rowHeight;
  const parts = [
    panelTitle('Throughput (payments completed per second, more is better)', y),
    verticalGrid(top, step, plotTop, plotBottom),
  ];
  passes.forEach((pass, i) => {
    const rowY = plotTop + i * rowHeight;
    parts.push(text(LEFT - 10, rowY + 19, pass.name, 'font-size="13" fill="#333" text-anchor="end"'));
    const width = known(pass.throughput) ? (pass.throughput / top) * PLOT : 0;
    parts.push(
      `<rect x="${LEFT}" y="${rowY + 5}" width="${width.toFixed(1)}" height="${rowHeight - 10}" fill="${PASS_COLOURS[pass.system]}"/>`,
    );
    parts.push(
      text(
        LEFT + width + 6,
        rowY + 19,
        known(pass.throughput) ? `${pass.throughput.toFixed(1)}/s (${pass.concurrency} at a time)` : 'n/a',
        'font-size="12" fill="#222"',
      ),
    );
  });
  parts.push(
    legend(
      [
        { name: 'bare Temporal baseline', colour: PASS_COLOURS.baseline },
        { name: 'payment system', colour: PASS_COLOURS.product },
      ],
      plotBottom + 36,
    ),
  );
  return { svg: parts.join(''), height: plotBottom + 50 - y };
}

/** p50, p95 and p99 side by side for each pass. */
function latencyPanel(
  title: string,
  passes: PassFigures[],
  pick: (pass: PassFigures) => { p50: number; p95: number; p99: number },
  y: number,
): { svg: string; height: number } {
  const keys = ['p50', 'p95', 'p99'] as const;
  const rows = passes.map((pass) => ({ pass, values: keys.map((k) => pick(pass)[k]) }));
  const { top, step } = axis(Math.max(0, ...rows.flatMap((r) => r.values).filter(known)), 100);
  const barHeight = 14;
  const rowHeight = barHeight * keys.length + 14;
  const plotTop = y + 16;
  const plotBottom = plotTop + rows.length * rowHeight;
  const parts = [panelTitle(title, y), verticalGrid(top, step, plotTop, plotBottom)];
  rows.forEach(({ pass, values }, i) => {
    const rowY = plotTop + i * rowHeight + 7;
    parts.push(
      text(
        LEFT - 10,
        rowY + (barHeight * keys.length) / 2 + 5,
        pass.name,
        'font-size="13" fill="#333" text-anchor="end"',
      ),
    );
    values.forEach((value, k) => {
      const barY = rowY + k * barHeight;
      const width = known(value) ? (value / top) * PLOT : 0;
      parts.push(
        `<rect x="${LEFT}" y="${barY + 1}" width="${width.toFixed(1)}" height="${barHeight - 2}" fill="${PERCENTILE_COLOURS[k]}"/>`,
      );
      parts.push(
        text(
          LEFT + width + 5,
          barY + barHeight - 3,
          `${keys[k]} ${known(value) ? `${value.toFixed(0)} ms` : 'n/a'}`,
          'font-size="11" fill="#222"',
        ),
      );
    });
  });
  parts.push(
    legend(
      keys.map((name, k) => ({ name, colour: PERCENTILE_COLOURS[k] ?? '#000' })),
      plotBottom + 36,
    ),
  );
  return { svg: parts.join(''), height: plotBottom + 50 - y };
}

/** CPU milliseconds per completed payment, stacked by process. */
function cpuPanel(passes: PassFigures[], y: number): { svg: string; height: number } {
  const perPayment = (pass: PassFigures, process: (typeof MEASURED_PROCESSES)[number]) => {
    const seconds = pass.cpuSeconds[process];
    return known(seconds) && pass.completed > 0 ? (seconds * 1000) / pass.completed : 0;
  };
  const totals = passes.map((pass) => MEASURED_PROCESSES.reduce((sum, p) => sum + perPayment(pass, p), 0));
  const { top, step } = axis(Math.max(0, ...totals), 70);
  const rowHeight = 30;
  const plotTop = y + 16;
  const plotBottom = plotTop + passes.length * rowHeight;
  const parts = [
    panelTitle('CPU time per completed payment (ms, all measured processes, less is better)', y),
    verticalGrid(top, step, plotTop, plotBottom),
  ];
  passes.forEach((pass, i) => {
    const rowY = plotTop + i * rowHeight;
    parts.push(text(LEFT - 10, rowY + 19, pass.name, 'font-size="13" fill="#333" text-anchor="end"'));
    let x = LEFT;
    MEASURED_PROCESSES.forEach((process, k) => {
      const width = (perPayment(pass, process) / top) * PLOT;
      if (width <= 0) return;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${rowY + 5}" width="${width.toFixed(1)}" height="${rowHeight - 10}" fill="${PROCESS_COLOURS[k]}"><title>${escape(`${process}: ${perPayment(pass, process).toFixed(1)} ms`)}</title></rect>`,
      );
      x += width;
    });
    parts.push(text(x + 6, rowY + 19, `${(totals[i] ?? 0).toFixed(1)} ms`, 'font-size="12" fill="#222"'));
  });
  parts.push(
    legend(
      MEASURED_PROCESSES.map((name, k) => ({ name, colour: PROCESS_COLOURS[k] ?? '#000' })),
      plotBottom + 36,
    ),
  );
  return { svg: parts.join(''), height: plotBottom + 50 - y };
}

/** The passes as an SVG chart: throughput, both latencies and CPU time per pass, labelled. */
export function benchChart(header: ChartHeader, passes: PassFigures[]): string {
  const parts: string[] = [text(20, 32, header.title, 'font-size="20" font-weight="700" fill="#111"')];
  let y = 54;
  for (const line of header.lines.flatMap((l) => wrap(l, HEADER_LINE_CHARS))) {
    parts.push(text(20, y, line, 'font-size="12" fill="#555"'));
    y += 17;
  }
  y += 24;
  const panels = [
    (at: number) => throughputPanel(passes, at),
    (at: number) => latencyPanel('Create latency (ms, less is better)', passes, (p) => p.createMs, at),
    (at: number) => latencyPanel('Create to succeeded (ms, less is better)', passes, (p) => p.createToSucceededMs, at),
    (at: number) => cpuPanel(passes, at),
  ];
  for (const panel of panels) {
    const { svg, height } = panel(y);
    parts.push(svg);
    y += height + 26;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${y}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

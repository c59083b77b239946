/** The notebook side of ptlab: rich display, charts, tables and progress. */
export { display, updateDisplay, displayBundle, setDisplaySink, displayTarget, kernelAvailable, plainText, JUPYTER_DISPLAY } from './display';
export type { MimeBundle, DisplayMessage, DisplaySink, Displayable, DisplayHandle, DisplayOptions, DisplayTarget } from './display';
export { Chart, VEGA_LITE_MIME, VEGA_LITE_SCHEMA, type BundleOptions, type ChartTitle } from './chart';
export { renderSvg, renderPng, svgToPng, compileVegaLite, vegaLiteWarnings, pngSize, prefixSvgIds, type RenderOptions, type PngOptions } from './render';
export * from './charts/index';
export { Table, table, formatCell, type Column, type Row, type Cell, type TableOptions } from './table';
export { Progress, progress, type ProgressOptions } from './progress';
export { summaryTable, summaryRows, type SummaryOptions } from './summary';
export { escapeHtml, jsonForScript } from './html-escape';
export { traceTable, traceRows, type TraceTableOptions } from './trace-table';

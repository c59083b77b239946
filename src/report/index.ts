/** Standalone HTML writeups of ptlab results. */
export { renderReport, writeReport, defaultReportCharts, type ReportChart, type ReportOptions, type WriteReportOptions } from './html';
export { loadResultsDir, parseResultsJson, ResultsJsonSchema, ReportInputError, type ResultsDir } from './load';
export { profileSourceRows, type SourceRow } from './profiles';

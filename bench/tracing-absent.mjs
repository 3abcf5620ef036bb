/**
 * `platform/tracing.js` as if Loam had no tracing code at all: the variant bundle that
 * bench/observatory.bench.mjs builds links this instead (no OpenTelemetry import, no span, no
 * trace-id parsing), the baseline for what the default (tracing present, no exporter) costs.
 */
export const tracingConfigured = () => false;
export const startTracing = async () => undefined;
export const endRequestSpan = () => {};
export const traceIdOf = () => undefined;

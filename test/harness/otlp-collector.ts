import { json, startHttpService } from "./http-service.ts";
import type { HttpService } from "./http-service.ts";

/** One span as an OTLP/HTTP JSON export carries it, flattened with its resource. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  status: { code?: number; message?: string };
}

export interface OtlpCollector extends AsyncDisposable {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly http: HttpService;
  /** Every span received so far, over every export request. */
  spans(): ReceivedSpan[];
}

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value: AnyValue };

function valueOf(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

const attrs = (list: KeyValue[] | undefined): Record<string, unknown> => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/**
 * A stand-in for an OpenTelemetry Collector's OTLP/HTTP receiver: a node:http
 * server that takes POST /v1/traces with JSON bodies (what
 * @opentelemetry/exporter-trace-otlp-http sends) and keeps the spans.
 */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const http = await startHttpService(json(200, { partialSuccess: {} }));
  const spans = (): ReceivedSpan[] =>
    http.requests
      .filter((r) => r.method === "POST" && r.url === "/v1/traces")
      .flatMap((r) => {
        const body = JSON.parse(r.body) as { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: any[] }[] }[] };
        return (body.resourceSpans ?? []).flatMap((rs) =>
          (rs.scopeSpans ?? []).flatMap((ss) =>
            (ss.spans ?? []).map(
              (s): ReceivedSpan => ({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId || undefined,
                name: s.name,
                kind: s.kind,
                startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
                endMs: Number(BigInt(s.endTimeUnixNano) / 1_000_000n),
                attributes: attrs(s.attributes),
                resource: attrs(rs.resource?.attributes),
                status: s.status ?? {},
              }),
            ),
          ),
        );
      });
  return { url: http.url, http, spans, [Symbol.asyncDispose]: () => http.close() };
}

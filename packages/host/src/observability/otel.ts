import type { AgentEventRecord, Logger } from "@colony/actors";
import { errorMessage } from "@colony/actors";
import type { OtelConfig } from "../config.ts";

/** Where a host's agent events go to become exported spans. */
export interface SpanExport {
  /** Takes one event (synchronous and cheap: spans are batched and sent off the turn's path). */
  record(rec: AgentEventRecord): void;
  /** Ends what is still open and sends every finished span; resolves when sent or given up. */
  shutdown(): Promise<void>;
}

/** How long shutdown waits for the last export: a collector that is down must not hold up a drain. */
const SHUTDOWN_FLUSH_MS = 5_000;
/** At most one warning about failed exports per this long. */
const DIAG_QUIET_MS = 60_000;

/**
 * Starts the OpenTelemetry trace export when the config asks for it
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), else
 * returns undefined without loading any OpenTelemetry module: a host without
 * an exporter pays for one `if` per event. Spans go over OTLP/HTTP with JSON
 * bodies, in batches every `scheduleDelayMs`; a collector that is down costs
 * failed exports (a warning a minute at most), never a turn.
 */
export async function startSpanExport(config: OtelConfig | undefined, o: { hostId: string; logger: Logger }): Promise<SpanExport | undefined> {
  if (!config) return undefined;
  const [{ diag, DiagLogLevel }, { TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { parseKeyPairsIntoRecord }, { ChosenIdGenerator, GenAiSpanBuilder }] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
    import("./genai-spans.ts"),
  ]);
  // The SDK reports failed exports through its diag logger, silent by default:
  // into our logs, at most one line a minute (a collector that is down fails every batch).
  let quietUntil = 0;
  const warn = (message: string) => {
    const now = Date.now();
    if (now < quietUntil) return;
    quietUntil = now + DIAG_QUIET_MS;
    o.logger.warn({ detail: message.slice(0, 300) }, "OpenTelemetry export problem");
  };
  const ignore = () => undefined;
  diag.setLogger({ error: warn, warn, info: ignore, debug: ignore, verbose: ignore }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const exporter = new OTLPTraceExporter({ url: config.tracesUrl, ...(config.headers ? { headers: parseKeyPairsIntoRecord(config.headers) } : {}) });
  const ids = new ChosenIdGenerator();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": config.serviceName, "service.instance.id": o.hostId }),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.scheduleDelayMs })],
  });
  const builder = new GenAiSpanBuilder(provider.getTracer("colony"), ids);
  // Never the headers: they may hold a collector's credentials.
  o.logger.info({ url: redactedUrl(config.tracesUrl), service: config.serviceName }, "exporting traces over OTLP");
  let stopped: Promise<void> | undefined;
  return {
    record(rec) {
      try {
        builder.record(rec);
      } catch (e) {
        o.logger.debug({ err: errorMessage(e) }, "span not recorded");
      }
    },
    shutdown() {
      stopped ??= (async () => {
        builder.endAll();
        let timer: NodeJS.Timeout | undefined;
        const cut = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS)));
        await Promise.race([provider.shutdown().catch((e) => o.logger.warn({ err: errorMessage(e) }, "last spans not exported")), cut]);
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/** The URL as logs may show it: no user info, no query (either could carry a key). */
function redactedUrl(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  u.search = "";
  return u.toString();
}

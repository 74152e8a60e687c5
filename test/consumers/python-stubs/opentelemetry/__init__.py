# Import-only stand-in for the opentelemetry API (not packaged in Debian 12). The Pulumi Python SDK imports it at
# module level for tracing, used only when PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT / a trace parent is set.

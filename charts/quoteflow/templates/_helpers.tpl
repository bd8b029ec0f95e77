{{/* Chart name, overridable. */}}
{{- define "quoteflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name, truncated at 63 (a DNS label); component suffixes are
short, and names stay under 63 for release names up to 40 characters. */}}
{{- define "quoteflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "quoteflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "quoteflow.labels" -}}
helm.sh/chart: {{ include "quoteflow.chart" . }}
{{ include "quoteflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: quoteflow
{{- end }}

{{/* The stable pair every selector starts from (never add mutable labels here). */}}
{{- define "quoteflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quoteflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "router" ["model" "motor"]
["color" "blue"]). Routers and inference pods carry their model: each product has its own. */}}
{{- define "quoteflow.componentSelector" -}}
{{ include "quoteflow.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- with .model }}
quoteflow.io/model: {{ . }}
{{- end }}
{{- with .color }}
quoteflow.io/color: {{ . }}
{{- end }}
{{- end }}

{{/* All labels of one component's objects. */}}
{{- define "quoteflow.componentLabels" -}}
{{ include "quoteflow.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- with .model }}
quoteflow.io/model: {{ . }}
{{- end }}
{{- with .color }}
quoteflow.io/color: {{ . }}
{{- end }}
{{- end }}

{{/* Every product this release serves, as a YAML list (read with fromYamlArray): the
first from inference.* and traffic (its objects keep their unprefixed names), then each
enabled entry of `products` (objects named <fullname>-<model>-...). Each has its own
router and inference pods, colors and section of the traffic policy. */}}
{{- define "quoteflow.productList" -}}
{{- $list := list (dict "model" .Values.inference.modelName "product" "" "prefix" "" "colors" .Values.inference.colors "traffic" .Values.traffic "routerReplicas" .Values.router.replicas "records" true) }}
{{- range $model, $p := .Values.products }}
{{- if $p.enabled }}
{{- $list = append $list (dict "model" $model "product" (default $model $p.product) "prefix" (printf "%s-" $model) "colors" $p.colors "traffic" $p.traffic "routerReplicas" (default $.Values.router.replicas $p.routerReplicas) "records" (default false $p.recordsQuotes)) }}
{{- end }}
{{- end }}
{{- toYaml $list }}
{{- end }}

{{/* image reference: (dict "ctx" $ "image" .Values.images.router) */}}
{{- define "quoteflow.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}

{{- define "quoteflow.policyConfigMap" -}}
{{- printf "%s-traffic-policy" (include "quoteflow.fullname" .) }}
{{- end }}

{{- define "quoteflow.adminSecret" -}}
{{- default (printf "%s-router-admin" (include "quoteflow.fullname" .)) .Values.router.adminToken.existingSecret }}
{{- end }}

{{- define "quoteflow.modelsClaim" -}}
{{- default (printf "%s-models" (include "quoteflow.fullname" .)) .Values.models.pvc.claimName }}
{{- end }}

{{/* Service URL of a component inside the cluster. */}}
{{- define "quoteflow.url" -}}
{{- printf "http://%s-%s%s:8080" (include "quoteflow.fullname" .ctx) (default "" .prefix) .component }}
{{- end }}

{{/* Pod-level hardening shared by every pod. uid 10001 is the images' user. */}}
{{- define "quoteflow.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level hardening shared by every container. */}}
{{- define "quoteflow.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* Probes on the service port. startupProbe covers the model load (inference
answers nothing until its model is loaded and verified); after it, liveness only
asks "does the process answer", readiness "can it serve". */}}
{{- define "quoteflow.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 2
  timeoutSeconds: 2
  failureThreshold: 2
{{- end }}

{{/* extraEnv map -> env list (sorted, so renders are stable). */}}
{{- define "quoteflow.extraEnv" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end }}

{{/* Container ports: the API, and the admin port (admin API, /metrics) when set. */}}
{{- define "quoteflow.containerPorts" -}}
ports:
  - {name: http, containerPort: 8080, protocol: TCP}
  {{- with .Values.adminPort }}
  - {name: admin, containerPort: {{ . }}, protocol: TCP}
  {{- end }}
{{- end }}

{{/* The admin port setting for `quoteflow serve <service>`; ctx and service. */}}
{{- define "quoteflow.adminPortEnv" -}}
{{- with .ctx.Values.adminPort }}
- {name: QUOTEFLOW_{{ upper $.service }}_ADMIN_PORT, value: {{ . | quote }}}
{{- end }}
{{- end }}

{{/* Traces (tracing.*): the OTLP endpoint and the service's head-sampling ratio; nothing
when no endpoint is named (tracing off); ctx and service. */}}
{{- define "quoteflow.tracingEnv" -}}
{{- with .ctx.Values.tracing.otlpEndpoint }}
- {name: QUOTEFLOW_{{ upper $.service }}_TRACING__OTLP_ENDPOINT, value: {{ . | quote }}}
- name: QUOTEFLOW_{{ upper $.service }}_TRACING__SAMPLE_RATIO
  value: {{ index $.ctx.Values.tracing.sampleRatio $.service | toString | quote }}
{{- end }}
{{- end }}

{{/* A Service's ports: the API on `port`, and the admin port when set; ctx and port. */}}
{{- define "quoteflow.servicePorts" -}}
ports:
  - {name: http, port: {{ .port }}, targetPort: http, protocol: TCP}
  {{- with .ctx.Values.adminPort }}
  - {name: admin, port: {{ . }}, targetPort: admin, protocol: TCP}
  {{- end }}
{{- end }}

{{/* Values checks the schema cannot express; each message names the value. */}}
{{- define "quoteflow.validate" -}}
{{- $w := .Values.traffic.greenWeight }}
{{- if or (lt (float64 $w) 0.0) (gt (float64 $w) 100.0) }}
{{- fail (printf "traffic.greenWeight must be between 0 and 100, got %v" $w) }}
{{- end }}
{{- if not .Values.inference.colors.blue.enabled }}
{{- fail "inference.colors.blue.enabled must be true: Blue is the model that always serves" }}
{{- end }}
{{- range $color, $c := .Values.inference.colors }}
{{- if $c.enabled }}
{{- $_ := required (printf "inference.colors.%s.version is required when inference.colors.%s.enabled is true (the registry version those pods serve)" $color $color) $c.version }}
{{- end }}
{{- end }}
{{- if not .Values.inference.colors.green.enabled }}
{{- if gt (float64 $w) 0.0 }}
{{- fail (printf "traffic.greenWeight is %v but inference.colors.green.enabled is false: nothing would serve that traffic" $w) }}
{{- end }}
{{- if .Values.traffic.shadow.enabled }}
{{- fail "traffic.shadow.enabled needs inference.colors.green.enabled: shadow copies go to Green" }}
{{- end }}
{{- end }}
{{- range $m, $p := .Values.products }}
{{- if $p.enabled }}
{{- $w := $p.traffic.greenWeight }}
{{- if not $p.colors.blue.enabled }}
{{- fail (printf "products.%s.colors.blue.enabled must be true: Blue is the model that always serves" $m) }}
{{- end }}
{{- if and (not $p.colors.green.enabled) (gt (float64 $w) 0.0) }}
{{- fail (printf "products.%s.traffic.greenWeight is %v but products.%s.colors.green.enabled is false: nothing would serve that traffic" $m $w $m) }}
{{- end }}
{{- if and (not $p.colors.green.enabled) $p.traffic.shadow.enabled }}
{{- fail (printf "products.%s.traffic.shadow.enabled needs products.%s.colors.green.enabled: shadow copies go to Green" $m $m) }}
{{- end }}
{{- if eq $m $.Values.inference.modelName }}
{{- fail (printf "products.%s: that model is the first product's (inference.modelName); name another" $m) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not .Values.router.ledger.postgresql.existingSecret }}
{{- range $p := include "quoteflow.productList" . | fromYamlArray }}
{{- if and $p.records (or (gt (int $p.routerReplicas) 1) $.Values.router.autoscaling.enabled) }}
{{- fail (printf "%s router: more than one replica (router.replicas, products.<model>.routerReplicas) or router.autoscaling.enabled needs router.ledger.postgresql.existingSecret: the SQLite ledger is one file with one writer" $p.model) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.training.enabled (ne .Values.models.source "pvc") }}
{{- fail "training.enabled needs models.source=pvc: the training job registers into the model store on that volume" }}
{{- end }}
{{- end }}

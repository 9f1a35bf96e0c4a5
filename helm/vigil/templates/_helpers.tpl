{{/*
Names, labels and images shared by every template. Names are cut to 63 characters, the limit of
a DNS label (and of a label value).
*/}}

{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: fullnameOverride, else RELEASE-NAME (RELEASE alone when it already
contains NAME). */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: never change across upgrades (a Deployment's selector is immutable). */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- end -}}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* REPOSITORY@DIGEST when a digest is given, else REPOSITORY:TAG (TAG defaults to the chart's
appVersion). Called with (list IMAGE-VALUES ROOT). */}}
{{- define "vigil.imageRef" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The app container's image. In inject mode it is the application's own image, so its tag
never defaults to Vigil's version. */}}
{{- define "vigil.image" -}}
{{- if and (eq .Values.mode "inject") (not .Values.image.tag) (not .Values.image.digest) -}}
{{- fail "mode: inject runs your application's own image: set image.repository and image.tag (or image.digest); image.tag defaults to the chart's appVersion only for the Vigil-based image of mode: baked" -}}
{{- end -}}
{{- include "vigil.imageRef" (list .Values.image .) -}}
{{- end -}}

{{/* Where Vigil's binaries are inside the app container: the Vigil image installs them in
/usr/bin; inject mode mounts the bundle at /opt/vigil (its loader path is fixed there). */}}
{{- define "vigil.bindir" -}}
{{- if eq .Values.mode "inject" -}}/opt/vigil/bin{{- else -}}/usr/bin{{- end -}}
{{- end -}}

{{/*
A Vigil duration ("30s", "500ms", "1m30s", "1.5s", or a bare number of seconds) in milliseconds,
as a float. Called with (list DURATION FIELD-NAME). Fails naming the field when the text is not a
duration: the check below must never compare garbage.
*/}}
{{- define "vigil.durationMs" -}}
{{- $text := toString (index . 0) -}}
{{- $field := index . 1 -}}
{{- $units := dict "ns" 0.000001 "us" 0.001 "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 -}}
{{- if regexMatch "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$" $text -}}
{{- mulf (float64 $text) 1000.0 -}}
{{- else if regexMatch "^(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|ms|s|m|h))+$" $text -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|ms|s|m|h)" $text -1 -}}
{{- $unit := regexFind "(ns|us|ms|s|m|h)$" . -}}
{{- $number := trimSuffix $unit . -}}
{{- $total = addf $total (mulf (float64 $number) (get $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- else -}}
{{- fail (printf "%s: invalid duration %q (examples: 30s, 500ms, 1m30s)" $field $text) -}}
{{- end -}}
{{- end -}}

{{/*
Vigil refuses to start when drain.grace_period is not longer than drain.safety_margin plus the
delay every drain waits: drain.propagation_delay when it is a duration, drain.min_delay when it is
auto (agent/config/config_loader.cc; docs/drain.md): the pod would render and then crash-loop. The
chart passes terminationGracePeriodSeconds as the grace period, so it fails here instead, with
the same rule and Vigil's defaults (safety_margin 3s, propagation_delay auto, min_delay 0s).
*/}}
{{- define "vigil.checkGracePeriod" -}}
{{- $drain := default dict .Values.vigil.drain -}}
{{- $safety := get $drain "safety_margin" | default "3s" -}}
{{- $propagation := get $drain "propagation_delay" | default "auto" -}}
{{- $key := "vigil.drain.propagation_delay" -}}
{{- if eq (toString $propagation) "auto" -}}
{{- $propagation = get $drain "min_delay" | default "0s" -}}
{{- $key = "vigil.drain.min_delay" -}}
{{- end -}}
{{- $graceMs := mulf (float64 .Values.terminationGracePeriodSeconds) 1000.0 -}}
{{- $safetyMs := include "vigil.durationMs" (list $safety "vigil.drain.safety_margin") | float64 -}}
{{- $propagationMs := include "vigil.durationMs" (list $propagation $key) | float64 -}}
{{- if le $graceMs (addf $safetyMs $propagationMs) -}}
{{- fail (printf "terminationGracePeriodSeconds (%ds) must be longer than vigil.drain.safety_margin (%s) plus %s (%s): Vigil would refuse to start and the pod would crash-loop (docs/drain.md)" (int .Values.terminationGracePeriodSeconds) (toString $safety) $key (toString $propagation)) -}}
{{- end -}}
{{- end -}}

{{/* The container securityContext, shared by the app container and the inject init container. */}}
{{- define "vigil.securityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}

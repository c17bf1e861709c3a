{{/* The objects' name: fullnameOverride, else the release name (`coffee-operator` in manifests/). */}}
{{- define "coffee-operator.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. part-of is also what the test bed's pod runtime selects by. */}}
{{- define "coffee-operator.labels" -}}
app.kubernetes.io/name: coffee-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: coffee-pipeline
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels that select the operator's pods; never changed by an upgrade. */}}
{{- define "coffee-operator.selectorLabels" -}}
app.kubernetes.io/name: coffee-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "coffee-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "coffee-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "coffee-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* A pipeline image from pipelineDefaults.<which>: by digest when one is given, else the tag (or the chart's appVersion). */}}
{{- define "coffee-operator.pipelineImage" -}}
{{- if .image.digest -}}
{{ .image.repository }}@{{ .image.digest }}
{{- else -}}
{{ .image.repository }}:{{ default .appVersion .image.tag }}
{{- end -}}
{{- end -}}

{{/* pipelineDefaults as the operator's POD_DEFAULTS: the JSON of a pipeline's `pod` settings. */}}
{{- define "coffee-operator.podDefaults" -}}
{{- $d := .Values.pipelineDefaults -}}
{{- $pod := dict -}}
{{- with $d.podLabels }}{{ $_ := set $pod "labels" . }}{{ end -}}
{{- with $d.podAnnotations }}{{ $_ := set $pod "annotations" . }}{{ end -}}
{{- with $d.nodeSelector }}{{ $_ := set $pod "nodeSelector" . }}{{ end -}}
{{- with $d.tolerations }}{{ $_ := set $pod "tolerations" . }}{{ end -}}
{{- with $d.affinity }}{{ $_ := set $pod "affinity" . }}{{ end -}}
{{- with $d.topologySpreadConstraints }}{{ $_ := set $pod "topologySpreadConstraints" . }}{{ end -}}
{{- with $d.priorityClassName }}{{ $_ := set $pod "priorityClassName" . }}{{ end -}}
{{- with $d.imagePullSecrets }}{{ $_ := set $pod "imagePullSecrets" . }}{{ end -}}
{{- toJson $pod -}}
{{- end -}}

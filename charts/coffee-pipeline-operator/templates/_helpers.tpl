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

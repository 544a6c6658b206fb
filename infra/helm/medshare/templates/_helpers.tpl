{{/*
What each service reads and writes on Kafka. This is the code's wiring (shared topics
registry, each service's handlers), not a setting, so it lives here rather than in values.
*/}}
{{- define "medshare.wiring" -}}
ingest:
  group: medshare-ingest
  reads: [records.submitted]
  writes: [records.ingested, records.rejected]
anonymizer:
  group: medshare-anonymizer
  reads: [records.ingested]
  writes: [records.deidentified, records.quarantined, records.rejected]
inference:
  group: medshare-inference
  reads: [records.deidentified]
  # Every replica reads models.changed without a group (each must see every promotion).
  readsWithoutGroup: [models.changed]
  writes: [records.inferred, records.rejected]
catalog:
  group: medshare-catalog
  reads: [records.deidentified, records.inferred, records.quarantined]
  writes: [records.rejected]
{{- end -}}

{{- define "medshare.serviceNames" -}}
[ingest, anonymizer, inference, catalog]
{{- end -}}

{{- define "medshare.labels" -}}
app.kubernetes.io/part-of: medshare
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "name" "ingest"). */}}
{{- define "medshare.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "medshare.topic" -}}
{{ printf "%s%s" .root.Values.topicPrefix .name }}
{{- end -}}

{{- define "medshare.kafkaNamespace" -}}
{{ default .Release.Namespace .Values.kafka.strimzi.namespace }}
{{- end -}}

{{/* Strimzi names resources in Kubernetes names: dots are fine, the prefix may carry underscores. */}}
{{- define "medshare.topicResourceName" -}}
{{ printf "%s%s" .root.Values.topicPrefix .name | replace "_" "-" | lower }}
{{- end -}}

{{- define "medshare.userName" -}}
{{ printf "%s-kafka-%s" .root.Release.Name .name }}
{{- end -}}

{{/* Does the service talk to MongoDB? The catalog always, the anonymizer in vault mode. */}}
{{- define "medshare.usesMongo" -}}
{{- if or (eq .name "catalog") (and (eq .name "anonymizer") (eq .root.Values.services.anonymizer.pseudonymMode "vault")) -}}
true
{{- end -}}
{{- end -}}

{{/*
The chart name, or nameOverride.
*/}}
{{- define "kubecamp-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A release-safe full name: fullnameOverride, else the release name (when it already contains the chart
name), else "<release>-<chart name>"; at most 63 characters, with no trailing "-".
*/}}
{{- define "kubecamp-bot.fullname" -}}
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

{{/*
Chart name and version, as used by the helm.sh/chart label.
*/}}
{{- define "kubecamp-bot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "kubecamp-bot.labels" -}}
helm.sh/chart: {{ include "kubecamp-bot.chart" . }}
{{ include "kubecamp-bot.selectorLabels" . }}
{{ include "kubecamp-bot.releaseLabels" . }}
{{- end }}

{{/*
The labels of every object that say which release made it.
*/}}
{{- define "kubecamp-bot.releaseLabels" -}}
app.kubernetes.io/version: {{ include "kubecamp-bot.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubecamp
{{- end }}

{{/*
The preflight test Pod's labels: not the bot's selector labels, so that the Service (the webhook, /metrics)
and the NetworkPolicy never take it for the bot.
*/}}
{{- define "kubecamp-bot.preflightLabels" -}}
helm.sh/chart: {{ include "kubecamp-bot.chart" . }}
app.kubernetes.io/name: {{ printf "%s-preflight" (include "kubecamp-bot.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: preflight
{{ include "kubecamp-bot.releaseLabels" . }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (a Deployment's selector is immutable).
*/}}
{{- define "kubecamp-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubecamp-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount's name.
*/}}
{{- define "kubecamp-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubecamp-bot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "kubecamp-bot.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
The image reference: repository:tag, or repository@digest when a digest is given.
*/}}
{{- define "kubecamp-bot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "kubecamp-bot.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
The name of the Secret holding the tokens: existingSecret, else the chart's own.
*/}}
{{- define "kubecamp-bot.secretName" -}}
{{- .Values.existingSecret | default (include "kubecamp-bot.fullname" .) }}
{{- end }}

{{/*
The Secret keys of the Discord token and the webhook token.
*/}}
{{- define "kubecamp-bot.discordTokenKey" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.discordToken }}{{ else }}discord-token{{ end }}
{{- end }}

{{- define "kubecamp-bot.webhookTokenKey" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.webhookToken }}{{ else }}webhook-token{{ end }}
{{- end }}

{{/*
Whether the chart makes the Secret, and fails with a clear message when it cannot.
*/}}
{{- define "kubecamp-bot.createSecret" -}}
{{- if not .Values.existingSecret }}
{{- $_ := required "discord.token is required: set it (--set discord.token=<the bot token from the Discord developer portal>) or name a Secret you made with existingSecret (keys discord-token and webhook-token)" .Values.discord.token }}
{{- "true" }}
{{- end }}
{{- end }}

{{/*
Whether the webhook has a token: always assumed with existingSecret (its key is read with optional: true).
*/}}
{{- define "kubecamp-bot.webhookTokenSet" -}}
{{- if or .Values.existingSecret .Values.webhook.token }}true{{ end }}
{{- end }}

{{/*
The scoreboard page's two tokens, as env entries read from the Secret: each set in the values, or always with
existingSecret (read with optional: true, so a Secret without the key leaves the page open, the view off).
*/}}
{{- define "kubecamp-bot.scoreboardTokenEnv" -}}
{{- $keys := dict "KUBECAMP_SCOREBOARD_TOKEN" (list .Values.scoreboard.token "scoreboard-token" .Values.existingSecretKeys.scoreboardToken) "KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN" (list .Values.scoreboard.instructorToken "scoreboard-instructor-token" .Values.existingSecretKeys.scoreboardInstructorToken) }}
{{- range $name := list "KUBECAMP_SCOREBOARD_TOKEN" "KUBECAMP_SCOREBOARD_INSTRUCTOR_TOKEN" }}
{{- $entry := get $keys $name }}
{{- if or $.Values.existingSecret (index $entry 0) }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "kubecamp-bot.secretName" $ }}
      key: {{ if $.Values.existingSecret }}{{ index $entry 2 }}{{ else }}{{ index $entry 1 }}{{ end }}
      {{- if $.Values.existingSecret }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Whether the store is a PostgreSQL database (database.url or database.existingSecret) rather than SQLite on the data
volume; fails when both name it.
*/}}
{{- define "kubecamp-bot.externalDatabase" -}}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- fail "database.url and database.existingSecret are both set: give the PostgreSQL URL one way (existingSecret keeps its password out of your values)" }}
{{- end }}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/*
The Secret and key holding the PostgreSQL URL: database.existingSecret's, else the chart's own.
*/}}
{{- define "kubecamp-bot.databaseSecretName" -}}
{{- .Values.database.existingSecret | default (printf "%s-database" (include "kubecamp-bot.fullname" .)) }}
{{- end }}

{{- define "kubecamp-bot.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{/*
The PersistentVolumeClaim the data directory is mounted from ("" when persistence is off, or the store is PostgreSQL).
*/}}
{{- define "kubecamp-bot.claimName" -}}
{{- if and .Values.persistence.enabled (not (include "kubecamp-bot.externalDatabase" .)) }}
{{- .Values.persistence.existingClaim | default (include "kubecamp-bot.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The in-cluster URL of the Alertmanager webhook.
*/}}
{{- define "kubecamp-bot.webhookUrl" -}}
{{- printf "http://%s.%s.svc:%d/webhooks/alertmanager" (include "kubecamp-bot.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}

{{/*
The API permissions kubecamp-bot uses, as apiGroup → resource → verbs, in two parts. Derived from
bot/cluster.py, bot/kinds.py, the scenario catalogue (scenarios/) and bot/incidents/enrich.py;
tests/helm/test_chart.py fails when the catalogue needs something these tables lack (or they grant
something it does not need).

"kubecamp-bot.clusterPermissions", bound cluster-wide: only what cannot wait for a namespace.
  - namespaces: get (is it the bot's?) and create (a team's first run); with preflight.enabled also delete
    (`kubecamp preflight` removes its scratch namespaces). Never list or update.
  - nodes and storageclasses: list (cluster-scoped kinds the checks read).
  - rolebindings, resourcequotas, limitranges: create, to set up a namespace it has just made (the
    RoleBinding of the team role, the quota and the limits); never patch or delete, so the bot cannot
    lift them.
The admission policy (validatingadmissionpolicy.yaml) keeps every write of the bot inside namespaces
that carry its label: RBAC cannot say "only namespaces with this label".
*/}}
{{- define "kubecamp-bot.clusterPermissions" -}}
{{- $core := dict
  "namespaces" (ternary (list "create" "delete" "get") (list "create" "get") .Values.preflight.enabled)
  "nodes" (list "list")
  "resourcequotas" (list "create")
  "limitranges" (list "create")
}}
{{- toYaml (dict
  "" $core
  "rbac.authorization.k8s.io" (dict "rolebindings" (list "create"))
  "storage.k8s.io" (dict "storageclasses" (list "list"))
) }}
{{- end }}

{{/*
"kubecamp-bot.teamPermissions": the team role, bound by a RoleBinding in each team namespace when the bot
creates it, so they hold nowhere else.
  - every kind a scenario's manifests apply: create + patch (server-side apply) and delete (stop/teardown).
    The bot never GETs one of them: it lists (snapshots) or applies.
  - every kind a check or the incident enrichment reads: list (one list per kind per snapshot): a build's
    log collector may be a DaemonSet, its exposure an Ingress, its isolation a NetworkPolicy.
No Pod writes: only the cluster-scope scenario (challenge 1 control-plane) applies a Pod, and the bot never
applies a cluster-scope scenario. The Challenge 5 CRD kinds come only with rbac.challenge5Crds (with them
the prometheusrules the streaming-ops build's alerting criterion reads), and prometheuses (an object the
operator turns into Pods) only with rbac.prometheuses.
No secrets: the bot reads its own tokens from its environment, never through the API.
*/}}
{{- define "kubecamp-bot.teamPermissions" -}}
{{- $write := list "create" "delete" "list" "patch" }}
{{- $core := dict
  "configmaps" $write
  "persistentvolumeclaims" $write
  "services" $write
  "pods" (list "list")
  "events" (list "list")
}}
{{- $groups := dict
  "" $core
  "apps" (dict "deployments" $write "replicasets" (list "list") "daemonsets" (list "list"))
  "autoscaling" (dict "horizontalpodautoscalers" $write)
  "discovery.k8s.io" (dict "endpointslices" (list "list"))
  "networking.k8s.io" (dict "ingresses" (list "list") "networkpolicies" (list "list"))
}}
{{- if .Values.rbac.challenge5Crds }}
{{- $monitoring := dict "servicemonitors" $write "prometheusrules" (list "list") }}
{{- if .Values.rbac.prometheuses }}
{{- $_ := set $monitoring "prometheuses" $write }}
{{- end }}
{{- $_ := set $groups "monitoring.coreos.com" $monitoring }}
{{- $_ := set $groups "autoscaling.k8s.io" (dict "verticalpodautoscalers" $write) }}
{{- end }}
{{- toYaml $groups }}
{{- end }}

{{/*
Rules from one of the permission tables above (passed as YAML): grouped by apiGroup (sorted), one rule per
(apiGroup, verb set), resources sorted.
*/}}
{{- define "kubecamp-bot.rbacRules" -}}
{{- $groups := fromYaml . }}
{{- range $group := keys $groups | sortAlpha }}
{{- $byVerbs := dict }}
{{- range $resource, $verbs := get $groups $group }}
{{- $key := $verbs | sortAlpha | join "," }}
{{- $_ := set $byVerbs $key (append (get $byVerbs $key | default list) $resource) }}
{{- end }}
{{- range $key := keys $byVerbs | sortAlpha }}
- apiGroups: [{{ $group | quote }}]
  resources: {{ get $byVerbs $key | sortAlpha | toJson }}
  verbs: {{ splitList "," $key | toJson }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The ClusterRole's and ClusterRoleBinding's name: cluster-scoped, so the release namespace is part of it
(two classes in two namespaces may use the same release name).
*/}}
{{- define "kubecamp-bot.clusterRoleName" -}}
{{- printf "%s-%s" .Release.Namespace (include "kubecamp-bot.fullname" .) }}
{{- end }}

{{/*
The team role: the ClusterRole the bot binds in each team namespace (KUBECAMP_KUBE_TEAM_ROLE). It aggregates
the ClusterRoles carrying the label "kubecamp-bot.teamRoleSelector" (the chart's, and any of your own).
*/}}
{{- define "kubecamp-bot.teamRoleName" -}}
{{- printf "%s-team" (include "kubecamp-bot.clusterRoleName" .) }}
{{- end }}

{{- define "kubecamp-bot.teamRoleSelector" -}}
kubecamp.io/aggregate-to-team-role: {{ include "kubecamp-bot.clusterRoleName" . | trunc 63 | trimSuffix "-" | quote }}
{{- end }}

{{/*
Team access (teamaccess.yaml, bot/team_access.py): each team's ServiceAccount, in the release namespace and named
like the team's namespace, is bound in its namespace to "kubecamp-bot.teamAccessRoleName"; the ServiceAccounts of
the release namespace, as a group, read nodes, PersistentVolumes and StorageClasses. Only with rbac.create.
*/}}
{{- define "kubecamp-bot.teamAccess" -}}
{{- if and .Values.rbac.create .Values.teamAccess.enabled }}true{{ end }}
{{- end }}

{{- define "kubecamp-bot.teamAccessRoleName" -}}
{{- printf "%s-team-access" (include "kubecamp-bot.clusterRoleName" .) }}
{{- end }}

{{/*
"kubecamp-bot.teamAccessPermissions": what a team may do in its own namespace (a RoleBinding there, so nowhere
else): edit what the scenarios are made of and what a fix needs, read what a diagnosis needs (events, logs,
quotas). Never: the namespace itself beyond reading it, RoleBindings or Roles (no escalation), Secrets (no
scenario has one), ServiceAccount tokens, quotas and limits.
*/}}
{{- define "kubecamp-bot.teamAccessPermissions" -}}
{{- $edit := list "create" "delete" "deletecollection" "get" "list" "patch" "update" "watch" }}
{{- $read := list "get" "list" "watch" }}
{{- $groups := dict
  "" (dict
    "configmaps" $edit "persistentvolumeclaims" $edit "pods" $edit "services" $edit "serviceaccounts" $edit
    "pods/exec" (list "create" "get") "pods/portforward" (list "create" "get") "pods/log" $read
    "events" $read "endpoints" $read "resourcequotas" $read "limitranges" $read "namespaces" (list "get"))
  "apps" (dict
    "deployments" $edit "replicasets" $edit "statefulsets" $edit "daemonsets" $edit
    "deployments/scale" $edit "replicasets/scale" $edit "statefulsets/scale" $edit)
  "autoscaling" (dict "horizontalpodautoscalers" $edit)
  "batch" (dict "jobs" $edit "cronjobs" $edit)
  "networking.k8s.io" (dict "ingresses" $edit "networkpolicies" $edit)
  "policy" (dict "poddisruptionbudgets" $edit)
  "discovery.k8s.io" (dict "endpointslices" $read)
  "events.k8s.io" (dict "events" $read)
  "rbac.authorization.k8s.io" (dict "roles" $read "rolebindings" $read)
}}
{{- if .Values.rbac.challenge5Crds }}
{{- $_ := set $groups "monitoring.coreos.com" (dict "servicemonitors" $edit "prometheuses" $edit "prometheusrules" $edit) }}
{{- $_ := set $groups "autoscaling.k8s.io" (dict "verticalpodautoscalers" $edit) }}
{{- end }}
{{- toYaml $groups }}
{{- end }}

{{/*
"kubecamp-bot.teamClusterPermissions": the cluster-scoped kinds a diagnosis reads (where a Pod may go, why a
claim stays Pending), for every team's ServiceAccount through its group.
*/}}
{{- define "kubecamp-bot.teamClusterPermissions" -}}
{{- $read := list "get" "list" "watch" }}
{{- toYaml (dict
  "" (dict "nodes" $read "persistentvolumes" $read)
  "storage.k8s.io" (dict "storageclasses" $read)
) }}
{{- end }}

{{/*
The bot's identity as the API server names it: admission matches on it.
*/}}
{{- define "kubecamp-bot.serviceAccountUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "kubecamp-bot.serviceAccountName" .) }}
{{- end }}

{{/*
Where the bot and the preflight find the scenario catalogue (KUBECAMP_SCENARIOS_DIR): the image has none.
*/}}
{{- define "kubecamp-bot.scenariosPath" -}}
/app/scenarios
{{- end }}

{{/*
The catalogue the chart ships, as JSON: path below scenarios/ → content. Exactly what the bot loads: the
challenge.yaml of each folder in scenarios/ and the .yaml/.yml files of the manifests and previous folders
its scenarios name. Never a solution folder or an answer key (.helmignore keeps those out of the chart as well).
*/}}
{{- define "kubecamp-bot.catalogue" -}}
{{- $files := dict }}
{{- range $challengeFile, $_ := .Files.Glob "scenarios/*/challenge.yaml" }}
{{- $text := $.Files.Get $challengeFile }}
{{- $challenge := fromYaml $text }}
{{- if hasKey $challenge "Error" }}
{{- fail (printf "%s is not valid YAML: %s" $challengeFile $challenge.Error) }}
{{- end }}
{{- $_ := set $files (trimPrefix "scenarios/" $challengeFile) $text }}
{{- range $scenario := $challenge.scenarios | default list }}
{{- range $field := list "manifests" "previous" }}
{{- with get $scenario $field }}
{{- $folder := clean (printf "%s/%s" (dir $challengeFile) .) }}
{{- range $path, $_ := $.Files.Glob (printf "%s/*.{yaml,yml}" $folder) }}
{{- $_ := set $files (trimPrefix "scenarios/" $path) ($.Files.Get $path) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/*
The catalogue Secret's key for a path below scenarios/ (keys cannot hold "/"; the volume's items put each
key back at its path).
*/}}
{{- define "kubecamp-bot.catalogueKey" -}}
{{- . | replace "/" "__" }}
{{- end }}

{{/*
The name of the chart's catalogue Secret (at most 63 characters).
*/}}
{{- define "kubecamp-bot.scenariosSecretName" -}}
{{- include "kubecamp-bot.fullname" . | trunc 53 | trimSuffix "-" }}-scenarios
{{- end }}

{{/*
The catalogue volume's source: scenarios.volume, else the chart's Secret with every key at its path.
*/}}
{{- define "kubecamp-bot.scenariosVolume" -}}
{{- if .Values.scenarios.volume }}
{{- toYaml .Values.scenarios.volume }}
{{- else }}
secret:
  secretName: {{ include "kubecamp-bot.scenariosSecretName" . }}
  items:
    {{- range $path := include "kubecamp-bot.catalogue" . | fromJson | keys | sortAlpha }}
    - key: {{ include "kubecamp-bot.catalogueKey" $path | quote }}
      path: {{ $path | quote }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
The name of the Role (and its RoleBinding) that lets the bot read the Secrets of teams' own clusters (at most 63
characters).
*/}}
{{- define "kubecamp-bot.teamClustersRoleName" -}}
{{- include "kubecamp-bot.fullname" . | trunc 49 | trimSuffix "-" }}-team-clusters
{{- end }}

{{/*
"true" when the release runs more than one replica, which then elect a leader on a Lease; only with PostgreSQL.
*/}}
{{- define "kubecamp-bot.leaderElection" -}}
{{- if gt (int .Values.replicaCount) 1 }}
{{- if not (include "kubecamp-bot.externalDatabase" .) }}
{{- fail "replicaCount 2 needs PostgreSQL (database.url or database.existingSecret): two replicas cannot share a SQLite file" }}
{{- end }}true
{{- end }}
{{- end }}

{{/*
The name of the replicas' Lease, and of the Role (and its RoleBinding) that lets the bot hold it.
*/}}
{{- define "kubecamp-bot.leaseName" -}}
{{- include "kubecamp-bot.fullname" . | trunc 57 | trimSuffix "-" }}-leader
{{- end }}

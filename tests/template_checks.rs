//! Static checks of the SAM template (`template.yaml`): the function build settings, a failure
//! path for every asynchronous invocation, partial batch responses on every queue mapping, no
//! wildcard IAM, the same webhook routes in the template and in the local runner, and an alarm on
//! every function's errors and throttles and on every dead-letter queue's depth.
//!
//! Each check is a function returning the problems it found (each naming the resource), so a
//! `#[test]` asserts the list is empty and `checks_catch_mutations` proves each one can fail by
//! breaking a copy of the parsed template in memory.
//!
//! YAML crate: `serde_norway` (MIT OR Apache-2.0), the maintained fork of the archived
//! `serde_yaml` 0.9 with the same API. It loads CloudFormation's short-form tags (`!Ref`,
//! `!GetAtt`, `!Sub`, `!If`, ...) as `Value::Tagged` instead of failing. `serde_yml` was
//! passed over: it carries a RustSec advisory (unsound, unmaintained).

use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SERVERLESS_FUNCTION: &str = "AWS::Serverless::Function";
const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";

/// Actions AWS grants only on `Resource: "*"` (they have no resource-level permissions), each
/// with the reason. `logs:CreateLogGroup` is deliberately absent: it takes a log-group ARN.
const STAR_RESOURCE_ALLOWED: &[(&str, &str)] = &[
    ("cloudwatch:PutMetricData", "no resource types; scope it with a cloudwatch:namespace condition"),
    ("xray:PutTraceSegments", "X-Ray has no resource-level permissions for it"),
    ("xray:PutTelemetryRecords", "X-Ray has no resource-level permissions for it"),
    ("xray:GetSamplingRules", "X-Ray has no resource-level permissions for it"),
    ("xray:GetSamplingTargets", "X-Ray has no resource-level permissions for it"),
];

/// SAM policy templates that are scoped to the one resource named in their parameters (a
/// parameter of "*" is still rejected). Anything else, and every managed policy name or ARN,
/// fails: e.g. `AWSLambdaSQSQueueExecutionRole` allows receiving from every queue.
const SAM_POLICY_TEMPLATES_ALLOWED: &[&str] = &[
    "SQSPollerPolicy",
    "SQSSendMessagePolicy",
    "DynamoDBCrudPolicy",
    "DynamoDBReadPolicy",
    "DynamoDBWritePolicy",
    "SNSPublishMessagePolicy",
    "LambdaInvokePolicy",
    "S3ReadPolicy",
    "S3WritePolicy",
    "S3CrudPolicy",
    "SSMParameterReadPolicy",
    "AWSSecretsManagerGetSecretValuePolicy",
];

/// SAM event types whose event source mapping makes SAM attach a managed policy that allows the
/// action on every stream or queue in the account.
const SAM_EVENTS_WITH_BROAD_MANAGED_POLICY: &[(&str, &str)] = &[
    ("SQS", "AWSLambdaSQSQueueExecutionRole"),
    ("Kinesis", "AWSLambdaKinesisExecutionRole"),
    ("DynamoDB", "AWSLambdaDynamoDBExecutionRole"),
];

/// SAM event types that invoke the function asynchronously.
const SAM_ASYNC_EVENTS: &[&str] = &["Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent", "SNS", "S3"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_template() -> Value {
    let path = root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The routes the runner serves for the deployed HTTP API (its exported table).
fn runner_routes() -> BTreeSet<(String, String)> {
    foresight::server::DEPLOYED_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect()
}

/// The `[[bin]]` names of the crates under `functions/` (the package name when a crate declares
/// no `[[bin]]` but has `src/main.rs`).
fn function_binaries() -> BTreeSet<String> {
    let dir = root().join("functions");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let crate_dir = entry.unwrap().path();
        let manifest = crate_dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("parsing {}: {e}", manifest.display()));
        let bins: Vec<String> = table
            .get("bin")
            .and_then(|b| b.as_array())
            .map(|bins| bins.iter().filter_map(|b| b.get("name")?.as_str().map(String::from)).collect())
            .unwrap_or_default();
        if bins.is_empty() && crate_dir.join("src/main.rs").exists() {
            if let Some(name) = table.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()) {
                names.insert(name.to_string());
            }
        }
        names.extend(bins);
    }
    names
}

// ---------------------------------------------------------------------------------------------
// Value helpers

fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

fn get_str<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

/// The resources in template order, as (logical id, resource).
fn resources(template: &Value) -> Vec<(&str, &Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?, v))).collect())
        .unwrap_or_default()
}

fn resource_type(resource: &Value) -> &str {
    get_str(resource, &["Type"]).unwrap_or("")
}

fn resources_of<'a>(template: &'a Value, types: &[&str]) -> Vec<(&'a str, &'a Value)> {
    resources(template).into_iter().filter(|(_, r)| types.contains(&resource_type(r))).collect()
}

fn functions(template: &Value) -> Vec<(&str, &Value)> {
    resources_of(template, &[SERVERLESS_FUNCTION, LAMBDA_FUNCTION])
}

/// A value as a list: a sequence's items, or the value itself.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(seq) => seq.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Every string in a value, looking through sequences and tags (`!If [c, a, b]` gives c, a, b).
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(seq) => seq.iter().flat_map(strings).collect(),
        Value::Tagged(tagged) => strings(&tagged.value),
        Value::Mapping(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The logical ids a value refers to through `Ref`, `Fn::GetAtt` and `${...}` in `Fn::Sub`, in
/// short or long form, anywhere inside it.
fn refs(value: &Value) -> BTreeSet<String> {
    fn sub_refs(text: &str, out: &mut BTreeSet<String>) {
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            rest = &rest[start + 2..];
            let end = rest.find('}').unwrap_or(rest.len());
            let name = rest[..end].split('.').next().unwrap_or("");
            if !name.starts_with('!') && !name.contains("::") {
                out.insert(name.to_string());
            }
            rest = &rest[end..];
        }
    }
    fn getatt(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => {
                out.insert(s.split('.').next().unwrap_or("").to_string());
            }
            Value::Sequence(seq) => {
                if let Some(Value::String(s)) = seq.first() {
                    out.insert(s.clone());
                }
            }
            _ => {}
        }
    }
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Tagged(t) if t.tag == "Ref" => {
                if let Value::String(s) = &t.value {
                    out.insert(s.clone());
                }
            }
            Value::Tagged(t) if t.tag == "GetAtt" => getatt(&t.value, out),
            Value::Tagged(t) if t.tag == "Sub" => match &t.value {
                Value::String(s) => sub_refs(s, out),
                Value::Sequence(seq) => {
                    if let Some(Value::String(s)) = seq.first() {
                        sub_refs(s, out);
                    }
                    seq.iter().skip(1).for_each(|x| walk(x, out));
                }
                _ => {}
            },
            Value::Tagged(t) => walk(&t.value, out),
            Value::Sequence(seq) => seq.iter().for_each(|x| walk(x, out)),
            Value::Mapping(m) => {
                for (k, x) in m {
                    match k.as_str() {
                        Some("Ref") => {
                            if let Value::String(s) = x {
                                out.insert(s.clone());
                            }
                        }
                        Some("Fn::GetAtt") => getatt(x, out),
                        Some("Fn::Sub") => walk(
                            &Value::Tagged(Box::new(serde_norway::value::TaggedValue {
                                tag: serde_norway::value::Tag::new("Sub"),
                                value: x.clone(),
                            })),
                            out,
                        ),
                        _ => walk(x, out),
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, &mut out);
    out.retain(|s| !s.is_empty() && !s.starts_with("AWS::"));
    out
}

/// The logical ids among `refs(value)` whose resources have one of `types`.
fn refs_of_type(template: &Value, value: &Value, types: &[&str]) -> BTreeSet<String> {
    let ids: BTreeSet<String> = resources_of(template, types).into_iter().map(|(id, _)| id.to_string()).collect();
    refs(value).intersection(&ids).cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Function build settings

fn check_functions(template: &Value, binaries: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let globals = get(template, &["Globals", "Function"]);
    let mut seen_binaries: BTreeMap<String, String> = BTreeMap::new();
    let all = functions(template);
    if all.is_empty() {
        problems.push("the template has no Lambda functions at all (did the parse break?)".into());
    }
    for (id, resource) in all {
        let serverless = resource_type(resource) == SERVERLESS_FUNCTION;
        // Globals apply to AWS::Serverless::Function only.
        let setting = |key: &str| {
            get(resource, &["Properties", key]).or_else(|| if serverless { globals?.get(key) } else { None })
        };
        let architectures = setting("Architectures").map(strings);
        if architectures.as_deref() != Some(&["arm64".to_string()][..]) {
            problems.push(format!(
                "{id}: Architectures must be [arm64] (on the function or in Globals.Function), found {architectures:?}"
            ));
        }
        let runtime = setting("Runtime").and_then(Value::as_str);
        if runtime != Some("provided.al2023") {
            problems.push(format!("{id}: Runtime must be provided.al2023, found {runtime:?}"));
        }
        let build_method = get_str(resource, &["Metadata", "BuildMethod"]);
        if build_method != Some("rust-cargolambda") {
            problems.push(format!("{id}: Metadata.BuildMethod must be rust-cargolambda, found {build_method:?}"));
        }
        match get_str(resource, &["Metadata", "BuildProperties", "Binary"]) {
            None => problems.push(format!("{id}: Metadata.BuildProperties.Binary is missing")),
            Some(binary) => {
                if !binaries.contains(binary) {
                    problems.push(format!(
                        "{id}: Metadata.BuildProperties.Binary {binary:?} is no [[bin]] of a crate under functions/ \
                         (known: {binaries:?})"
                    ));
                }
                if let Some(other) = seen_binaries.insert(binary.to_string(), id.to_string()) {
                    problems.push(format!("{id}: Metadata.BuildProperties.Binary {binary:?} is also built by {other}"));
                }
            }
        }
        // SAM's CodeUri; a plain AWS::Lambda::Function built by `sam build` names it Code.
        let code_key = if serverless { "CodeUri" } else { "Code" };
        let code = get(resource, &["Properties", code_key]).or_else(|| globals.filter(|_| serverless)?.get(code_key));
        if code.and_then(Value::as_str) != Some(".") {
            problems.push(format!(
                "{id}: {code_key} must be `.` (the workspace root, so all functions share one build), found {code:?}"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// 2. A failure path for every asynchronous invocation

/// A function-level failure path: SAM `DeadLetterQueue` or `EventInvokeConfig` with
/// `DestinationConfig.OnFailure`, Lambda's `DeadLetterConfig.TargetArn`, or a separate
/// `AWS::Lambda::EventInvokeConfig` resource with an on-failure destination.
fn function_failure_path(template: &Value, id: &str, function: &Value) -> Option<String> {
    let props = function.get("Properties")?;
    if get(props, &["DeadLetterQueue", "TargetArn"]).is_some() {
        return Some("DeadLetterQueue".into());
    }
    if get(props, &["EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination"]).is_some() {
        return Some("EventInvokeConfig.DestinationConfig.OnFailure".into());
    }
    if get(props, &["DeadLetterConfig", "TargetArn"]).is_some() {
        return Some("DeadLetterConfig".into());
    }
    resources_of(template, &["AWS::Lambda::EventInvokeConfig"]).into_iter().find_map(|(config_id, config)| {
        let targets = refs(get(config, &["Properties", "FunctionName"])?);
        let on_failure = get(config, &["Properties", "DestinationConfig", "OnFailure", "Destination"]);
        (targets.contains(id) && on_failure.is_some()).then(|| config_id.to_string())
    })
}

/// The allowed statements of an IAM role in the template: its inline policies and the
/// `AWS::IAM::Policy` / `ManagedPolicy` resources attached to it.
fn role_statements<'a>(template: &'a Value, role_id: &str) -> Vec<&'a Value> {
    let mut docs = Vec::new();
    if let Some(role) = get(template, &["Resources", role_id]) {
        for policy in get(role, &["Properties", "Policies"]).map(items).unwrap_or_default() {
            docs.extend(policy.get("PolicyDocument"));
        }
    }
    for (_, policy) in resources_of(template, &["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]) {
        if get(policy, &["Properties", "Roles"]).is_some_and(|roles| refs(roles).contains(role_id)) {
            docs.extend(get(policy, &["Properties", "PolicyDocument"]));
        }
    }
    docs.into_iter()
        .flat_map(|doc| doc.get("Statement").map(items).unwrap_or_default())
        .filter(|s| get_str(s, &["Effect"]) == Some("Allow"))
        .collect()
}

/// Target DLQ of a schedule or rule: it must be a queue of this template and the target's role
/// (when it is one of this template's) must be allowed to send to it, or the DLQ drops silently.
///
/// Returns Err when the target has no DLQ (acceptable if the function has its own failure
/// path); a DLQ that is declared but cannot work is pushed to `problems` regardless.
fn check_target_dlq(template: &Value, source: &str, target: &Value, problems: &mut Vec<String>) -> Result<(), String> {
    let Some(arn) = get(target, &["DeadLetterConfig", "Arn"]) else {
        return Err(format!("{source}: the target has no DeadLetterConfig.Arn"));
    };
    let queues = refs_of_type(template, arn, &["AWS::SQS::Queue"]);
    let Some(queue) = queues.first() else {
        problems.push(format!("{source}: DeadLetterConfig.Arn refers to no AWS::SQS::Queue of this template"));
        return Ok(());
    };
    if let Some(role_arn) = target.get("RoleArn") {
        for role in refs_of_type(template, role_arn, &["AWS::IAM::Role"]) {
            let allowed = role_statements(template, &role).into_iter().any(|s| {
                s.get("Action").map(strings).unwrap_or_default().iter().any(|a| a == "sqs:SendMessage")
                    && s.get("Resource").is_some_and(|r| refs(r).contains(queue))
            });
            if !allowed {
                problems.push(format!(
                    "{source}: the target's role {role} is not allowed sqs:SendMessage on its dead-letter queue {queue}"
                ));
            }
        }
    }
    Ok(())
}

fn check_async_failure_paths(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    // For each asynchronously invoked function, one entry per invoking source: Ok when that
    // source has its own dead-letter queue, else why not.
    let mut invocations: BTreeMap<String, Vec<Result<(), String>>> = BTreeMap::new();

    for (id, schedule) in resources_of(template, &["AWS::Scheduler::Schedule"]) {
        let Some(target) = get(schedule, &["Properties", "Target"]) else { continue };
        for function in
            refs_of_type(template, target.get("Arn").unwrap_or(&Value::Null), &[SERVERLESS_FUNCTION, LAMBDA_FUNCTION])
        {
            invocations.entry(function).or_default().push(check_target_dlq(template, id, target, &mut problems));
        }
    }
    for (id, rule) in resources_of(template, &["AWS::Events::Rule"]) {
        for target in get(rule, &["Properties", "Targets"]).map(items).unwrap_or_default() {
            for function in refs_of_type(
                template,
                target.get("Arn").unwrap_or(&Value::Null),
                &[SERVERLESS_FUNCTION, LAMBDA_FUNCTION],
            ) {
                invocations.entry(function).or_default().push(check_target_dlq(template, id, target, &mut problems));
            }
        }
    }
    for (id, function) in functions(template) {
        let Some(events) = get(function, &["Properties", "Events"]).and_then(Value::as_mapping) else { continue };
        for (name, event) in events {
            let event_type = get_str(event, &["Type"]).unwrap_or("");
            if SAM_ASYNC_EVENTS.contains(&event_type) {
                let source = format!("{id} event {} ({event_type})", name.as_str().unwrap_or("?"));
                let own = if get(event, &["Properties", "DeadLetterConfig"]).is_some() {
                    Ok(())
                } else {
                    Err(format!("{source}: no DeadLetterConfig on the event"))
                };
                invocations.entry(id.to_string()).or_default().push(own);
            }
        }
    }

    for (function_id, sources) in invocations {
        let function = get(template, &["Resources", &function_id]).unwrap();
        if function_failure_path(template, &function_id, function).is_some() {
            continue;
        }
        for result in sources {
            if let Err(why) = result {
                problems.push(format!(
                    "{function_id} is invoked asynchronously with no failure path: {why}, and the function has no \
                     DeadLetterQueue or EventInvokeConfig.DestinationConfig.OnFailure"
                ));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// 3. Partial batch responses

fn reports_batch_item_failures(value: Option<&Value>) -> bool {
    value.map(strings).unwrap_or_default().iter().any(|s| s == "ReportBatchItemFailures")
}

fn check_batch_item_failures(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, mapping) in resources_of(template, &["AWS::Lambda::EventSourceMapping"]) {
        if !reports_batch_item_failures(get(mapping, &["Properties", "FunctionResponseTypes"])) {
            problems.push(format!("{id}: FunctionResponseTypes must contain ReportBatchItemFailures"));
        }
    }
    for (id, function) in functions(template) {
        let Some(events) = get(function, &["Properties", "Events"]).and_then(Value::as_mapping) else { continue };
        for (name, event) in events {
            if get_str(event, &["Type"]) == Some("SQS")
                && !reports_batch_item_failures(get(event, &["Properties", "FunctionResponseTypes"]))
            {
                problems.push(format!(
                    "{id} event {}: SQS event's FunctionResponseTypes must contain ReportBatchItemFailures",
                    name.as_str().unwrap_or("?")
                ));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// 4. IAM

fn is_wildcard_action(action: &str) -> bool {
    action == "*" || action.ends_with(":*")
}

/// Checks one policy document; `trust` documents (AssumeRolePolicyDocument) have principals
/// and no resources, so only their actions are checked.
fn check_policy_document(location: &str, doc: &Value, trust: bool, problems: &mut Vec<String>) {
    let Some(statements) = doc.get("Statement") else {
        problems.push(format!("{location}: policy document has no Statement"));
        return;
    };
    for (i, statement) in items(statements).into_iter().enumerate() {
        let here = format!("{location} Statement[{i}]");
        if get_str(statement, &["Effect"]) != Some("Allow") {
            continue; // a Deny may use wildcards freely
        }
        if statement.get("NotAction").is_some() {
            problems.push(format!("{here}: Allow with NotAction grants everything else"));
        }
        if statement.get("NotResource").is_some() {
            problems.push(format!("{here}: Allow with NotResource grants everything else"));
        }
        let actions = statement.get("Action").map(strings).unwrap_or_default();
        for action in actions.iter().filter(|a| is_wildcard_action(a)) {
            problems.push(format!("{here}: Action {action:?} is a wildcard; name the actions"));
        }
        if trust {
            continue;
        }
        let star = statement.get("Resource").map(strings).unwrap_or_default().iter().any(|r| r == "*");
        if star {
            for action in &actions {
                if !STAR_RESOURCE_ALLOWED.iter().any(|(allowed, _)| allowed == action) {
                    problems.push(format!(
                        "{here}: Resource \"*\" for {action}, which is not in the test's allow-list of actions that \
                         AWS grants only on \"*\"; scope it to the resource"
                    ));
                }
            }
        }
    }
}

/// A SAM `Policies` entry: an inline document, an allowed policy template, or (failing) a
/// managed policy name or ARN.
fn check_sam_policy(location: &str, policy: &Value, problems: &mut Vec<String>) {
    match policy {
        Value::Mapping(m) if m.contains_key("Statement") => check_policy_document(location, policy, false, problems),
        Value::Mapping(m) if m.len() == 1 => {
            let (name, params) = m.iter().next().unwrap();
            let name = name.as_str().unwrap_or("?");
            if !SAM_POLICY_TEMPLATES_ALLOWED.contains(&name) {
                problems.push(format!(
                    "{location}: SAM policy template {name} is not in the test's allow-list of resource-scoped templates"
                ));
            } else if strings(params).iter().any(|p| p == "*") {
                problems.push(format!("{location}: SAM policy template {name} has a \"*\" parameter"));
            }
        }
        Value::String(name) => problems.push(format!(
            "{location}: managed policy {name} grants on every resource of its kind; use an inline statement scoped \
             to the resource"
        )),
        other => problems.push(format!("{location}: unrecognised policy entry {other:?}")),
    }
}

fn check_iam(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, resource) in resources(template) {
        let props = resource.get("Properties").unwrap_or(&Value::Null);
        match resource_type(resource) {
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
                for (i, policy) in props.get("Policies").map(items).unwrap_or_default().into_iter().enumerate() {
                    check_sam_policy(&format!("{id} Policies[{i}]"), policy, &mut problems);
                }
                let events = props.get("Events").and_then(Value::as_mapping).cloned().unwrap_or_else(Mapping::new);
                for (name, event) in &events {
                    let event_type = get_str(event, &["Type"]).unwrap_or("");
                    if let Some((_, managed)) =
                        SAM_EVENTS_WITH_BROAD_MANAGED_POLICY.iter().find(|(t, _)| *t == event_type)
                    {
                        problems.push(format!(
                            "{id} event {}: a SAM {event_type} event attaches the managed policy {managed}, which \
                             allows every queue or stream in the account; declare an AWS::Lambda::EventSourceMapping \
                             and scope the actions in Policies instead",
                            name.as_str().unwrap_or("?")
                        ));
                    }
                }
            }
            "AWS::IAM::Role" => {
                if let Some(doc) = props.get("AssumeRolePolicyDocument") {
                    check_policy_document(&format!("{id} AssumeRolePolicyDocument"), doc, true, &mut problems);
                }
                for (i, policy) in props.get("Policies").map(items).unwrap_or_default().into_iter().enumerate() {
                    let name = get_str(policy, &["PolicyName"]).unwrap_or("?");
                    match policy.get("PolicyDocument") {
                        Some(doc) => {
                            check_policy_document(&format!("{id} Policies[{i}] ({name})"), doc, false, &mut problems)
                        }
                        None => problems.push(format!("{id} Policies[{i}]: no PolicyDocument")),
                    }
                }
                for arn in props.get("ManagedPolicyArns").map(strings).unwrap_or_default() {
                    problems.push(format!("{id}: managed policy {arn} is not scoped to this stack's resources"));
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => match props.get("PolicyDocument") {
                Some(doc) => check_policy_document(&format!("{id} PolicyDocument"), doc, false, &mut problems),
                None => problems.push(format!("{id}: no PolicyDocument")),
            },
            _ => {}
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// 5. Webhook routes: template vs. local runner

/// (METHOD, path) of every HttpApi event in the template (the webhooks and `/unsubscribe`).
fn template_webhook_routes(template: &Value) -> BTreeMap<(String, String), String> {
    let mut routes = BTreeMap::new();
    for (id, function) in functions(template) {
        let Some(events) = get(function, &["Properties", "Events"]).and_then(Value::as_mapping) else { continue };
        for event in events.values() {
            if !matches!(get_str(event, &["Type"]), Some("HttpApi" | "Api")) {
                continue;
            }
            let path = get_str(event, &["Properties", "Path"]).unwrap_or("");
            let method = get_str(event, &["Properties", "Method"]).unwrap_or("ANY").to_uppercase();
            // The webhooks, Segment's HTTP Tracking API on the analytics function, and the
            // playbooks function's unsubscribe route.
            if path.starts_with("/webhooks/") || path.starts_with("/v1/") || path == "/unsubscribe" {
                routes.insert((method, path.to_string()), id.to_string());
            }
        }
    }
    routes
}

fn check_webhook_routes(template: &Value, in_runner: &BTreeSet<(String, String)>) -> Vec<String> {
    let mut problems = Vec::new();
    let in_template = template_webhook_routes(template);
    if in_template.is_empty() {
        problems.push("the template has no HttpApi event (did the parse break?)".into());
    }
    if in_runner.is_empty() {
        problems.push("the runner's DEPLOYED_ROUTES is empty".into());
    }
    for ((method, path), function) in &in_template {
        if !in_runner.contains(&(method.clone(), path.clone())) {
            problems.push(format!(
                "{function}: HttpApi event {method} {path} has no matching route in the local runner \
                 (DEPLOYED_ROUTES in infra/foresight/src/server.rs)"
            ));
        }
    }
    for (method, path) in in_runner {
        if !in_template.contains_key(&(method.clone(), path.clone())) {
            problems.push(format!(
                "local runner route {method} {path} (infra/foresight/src/server.rs) has no HttpApi event in template.yaml"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// 6. Alarms

/// A CloudWatch alarm of the template: what it watches, and the condition it is created under.
struct Alarm {
    namespace: String,
    metric: String,
    /// Resources referenced by its dimensions.
    watches: BTreeSet<String>,
    condition: Option<String>,
}

fn alarms(template: &Value) -> Vec<Alarm> {
    resources_of(template, &["AWS::CloudWatch::Alarm"])
        .into_iter()
        .map(|(_, alarm)| {
            let props = get(alarm, &["Properties"]).cloned().unwrap_or(Value::Null);
            let field = |key: &str| get_str(&props, &[key]).unwrap_or("").to_string();
            Alarm {
                namespace: field("Namespace"),
                metric: field("MetricName"),
                watches: get(&props, &["Dimensions"]).map(refs).unwrap_or_default(),
                condition: get_str(alarm, &["Condition"]).map(str::to_string),
            }
        })
        .collect()
}

/// The parameter-controlled condition of the optional per-function alarms.
const PER_FUNCTION_ALARMS: &str = "HasPerFunctionAlarms";

/// Every failure ends in an alarm that always exists, whatever the parameters:
/// - a function behind the HTTP API: an alarm on that API's `5xx` answers;
/// - a function polling a queue: the queue's dead-letter queue (its redrive policy) is alarmed;
/// - a function invoked asynchronously (schedules, rules): its on-failure destination is alarmed;
/// - every dead-letter queue and on-failure destination: an alarm on its visible messages.
///
/// With `PerFunctionAlarms`, every function also has an `Errors` and a `Throttles` alarm, created
/// under that condition only (they cost $0.10 each a month).
fn check_alarms(template: &Value) -> Vec<String> {
    let alarms = alarms(template);
    let always = |namespace: &str, metric: &str, id: &str| {
        alarms
            .iter()
            .any(|a| a.namespace == namespace && a.metric == metric && a.watches.contains(id) && a.condition.is_none())
    };
    let mut problems = Vec::new();
    let queue_alarmed = |queue: &str| always("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue);
    let dead_letter_of = |queue: &str| -> BTreeSet<String> {
        get(template, &["Resources", queue, "Properties", "RedrivePolicy", "deadLetterTargetArn"])
            .map(refs)
            .unwrap_or_default()
    };

    // Each function's ways of being invoked, and where a failure of each ends.
    let mut alarmed_paths: BTreeMap<String, Vec<Result<String, String>>> = BTreeMap::new();
    let mut path = |function: &str, outcome: Result<String, String>| {
        alarmed_paths.entry(function.to_string()).or_default().push(outcome);
    };
    let function_ids: BTreeSet<String> = functions(template).into_iter().map(|(id, _)| id.to_string()).collect();
    let api_alarmed = |api: &str| always("AWS/ApiGateway", "5xx", api);
    for (id, function) in functions(template) {
        let events = get(function, &["Properties", "Events"]).and_then(Value::as_mapping);
        for event in events.map(|e| e.values().collect::<Vec<_>>()).unwrap_or_default() {
            match get_str(event, &["Type"]).unwrap_or("") {
                "HttpApi" => {
                    let api = get(event, &["Properties", "ApiId"]).map(refs).unwrap_or_default();
                    let api = api.into_iter().next().unwrap_or_else(|| "ServerlessHttpApi".to_string());
                    let ok = api_alarmed(&api);
                    path(id, if ok { Ok(api) } else { Err(format!("HTTP API {api} has no alarm on its 5xx")) });
                }
                "SQS" => {
                    for queue in get(event, &["Properties", "Queue"]).map(refs).unwrap_or_default() {
                        let dlqs = dead_letter_of(&queue);
                        let ok = dlqs.iter().any(|d| queue_alarmed(d));
                        path(
                            id,
                            if ok { Ok(queue) } else { Err(format!("queue {queue} has no alarmed dead-letter queue")) },
                        );
                    }
                }
                _ => {}
            }
        }
    }
    for (_, integration) in resources_of(template, &["AWS::ApiGatewayV2::Integration"]) {
        let props = get(integration, &["Properties"]).cloned().unwrap_or(Value::Null);
        let targets = get(&props, &["IntegrationUri"]).map(refs).unwrap_or_default();
        let api = get(&props, &["ApiId"]).map(refs).unwrap_or_default().into_iter().next().unwrap_or_default();
        for function in targets.intersection(&function_ids) {
            let ok = api_alarmed(&api);
            path(function, if ok { Ok(api.clone()) } else { Err(format!("HTTP API {api} has no alarm on its 5xx")) });
        }
    }
    for (_, mapping) in resources_of(template, &["AWS::Lambda::EventSourceMapping"]) {
        let props = get(mapping, &["Properties"]).cloned().unwrap_or(Value::Null);
        let functions = get(&props, &["FunctionName"]).map(refs).unwrap_or_default();
        for queue in get(&props, &["EventSourceArn"]).map(refs).unwrap_or_default() {
            let ok = dead_letter_of(&queue).iter().any(|d| queue_alarmed(d));
            for function in functions.intersection(&function_ids) {
                path(
                    function,
                    if ok { Ok(queue.clone()) } else { Err(format!("queue {queue} has no alarmed dead-letter queue")) },
                );
            }
        }
    }
    let scheduled: BTreeSet<String> = resources_of(template, &["AWS::Scheduler::Schedule", "AWS::Events::Rule"])
        .into_iter()
        .flat_map(|(_, s)| refs_of_type(template, &s["Properties"], &[SERVERLESS_FUNCTION, LAMBDA_FUNCTION]))
        .collect();
    for function in &scheduled {
        let props = get(template, &["Resources", function, "Properties"]).cloned().unwrap_or(Value::Null);
        let destinations: BTreeSet<String> = [
            get(&props, &["EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination"]),
            get(&props, &["DeadLetterQueue", "TargetArn"]),
        ]
        .into_iter()
        .flatten()
        .flat_map(refs)
        .collect();
        let ok = destinations.iter().any(|d| queue_alarmed(d));
        path(
            function,
            if ok { Ok("on-failure destination".into()) } else { Err("no alarmed on-failure destination".into()) },
        );
    }
    for id in &function_ids {
        match alarmed_paths.get(id) {
            None => problems
                .push(format!("{id}: invoked by nothing these checks know, so no alarm is sure to see its failures")),
            Some(outcomes) => {
                for why in outcomes.iter().filter_map(|o| o.as_ref().err()) {
                    problems.push(format!("{id}: a failure reaches no alarm: {why}"));
                }
            }
        }
    }

    // Dead-letter queues and on-failure destinations: always alarmed.
    let dead_letter_queues: BTreeSet<String> = resources_of(template, &["AWS::SQS::Queue"])
        .into_iter()
        .filter_map(|(_, queue)| get(queue, &["Properties", "RedrivePolicy", "deadLetterTargetArn"]))
        .flat_map(refs)
        .collect();
    for dlq in dead_letter_queues {
        if !queue_alarmed(&dlq) {
            problems.push(format!("{dlq}: dead-letter queue without an alarm on its depth"));
        }
    }

    // The optional per-function alarms: all of them, and only under their condition.
    for id in &function_ids {
        for metric in ["Errors", "Throttles"] {
            let matching: Vec<&Alarm> = alarms
                .iter()
                .filter(|a| a.namespace == "AWS/Lambda" && a.metric == metric && a.watches.contains(id))
                .collect();
            if matching.is_empty() {
                problems.push(format!("{id}: no alarm on AWS/Lambda {metric} (with PerFunctionAlarms)"));
            }
            for alarm in matching {
                if alarm.condition.as_deref() != Some(PER_FUNCTION_ALARMS) {
                    problems.push(format!("{id}: its {metric} alarm must be created only under {PER_FUNCTION_ALARMS}"));
                }
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The tests

fn assert_none(check: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "template.yaml fails the {check} check:\n  - {}", problems.join("\n  - "));
}

#[test]
fn functions_are_arm64_al2023_cargo_lambda_workspace_builds() {
    assert_none("function build settings", check_functions(&load_template(), &function_binaries()));
}

#[test]
fn async_invocations_have_a_failure_path() {
    assert_none("async failure path", check_async_failure_paths(&load_template()));
}

#[test]
fn queue_mappings_report_batch_item_failures() {
    assert_none("ReportBatchItemFailures", check_batch_item_failures(&load_template()));
}

#[test]
fn iam_has_no_wildcards() {
    assert_none("IAM wildcard", check_iam(&load_template()));
}

#[test]
fn webhook_routes_match_the_local_runner() {
    assert_none("webhook routes", check_webhook_routes(&load_template(), &runner_routes()));
}

#[test]
fn functions_and_dead_letter_queues_have_alarms() {
    assert_none("alarms", check_alarms(&load_template()));
}

/// The id of the first resource of `type_` (so the mutations follow the template, not names).
fn first_of(template: &Value, type_: &str) -> String {
    resources_of(template, &[type_]).first().unwrap_or_else(|| panic!("template has no {type_}")).0.to_string()
}

fn resource_mut<'a>(template: &'a mut Value, id: &str) -> &'a mut Value {
    &mut template["Resources"][id]
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap()
}

#[track_caller]
fn assert_reports(problems: &[String], needle: &str) {
    assert!(problems.iter().any(|p| p.contains(needle)), "expected a problem mentioning {needle:?}, got {problems:#?}");
}

#[test]
fn checks_catch_mutations() {
    let original = load_template();
    let binaries = function_binaries();
    let function = first_of(&original, SERVERLESS_FUNCTION);

    // 1. Architecture, runtime, build method, binary, CodeUri.
    let mut t = original.clone();
    resource_mut(&mut t, &function)["Properties"]["Architectures"] = yaml("[x86_64]");
    assert_reports(&check_functions(&t, &binaries), &format!("{function}: Architectures"));
    let mut t = original.clone();
    t["Globals"]["Function"]["Runtime"] = yaml("provided.al2");
    assert_reports(&check_functions(&t, &binaries), &format!("{function}: Runtime"));
    let mut t = original.clone();
    resource_mut(&mut t, &function)["Metadata"]["BuildMethod"] = yaml("makefile");
    assert_reports(&check_functions(&t, &binaries), &format!("{function}: Metadata.BuildMethod"));
    let mut t = original.clone();
    resource_mut(&mut t, &function)["Metadata"]["BuildProperties"]["Binary"] = yaml("no-such-binary");
    assert_reports(&check_functions(&t, &binaries), "\"no-such-binary\" is no [[bin]]");
    let mut t = original.clone();
    let other = functions(&original).into_iter().map(|(id, _)| id.to_string()).find(|id| *id != function).unwrap();
    let binary = get(&original, &["Resources", &function, "Metadata", "BuildProperties", "Binary"]).unwrap().clone();
    resource_mut(&mut t, &other)["Metadata"]["BuildProperties"]["Binary"] = binary;
    assert_reports(&check_functions(&t, &binaries), "is also built by");
    let mut t = original.clone();
    resource_mut(&mut t, &function)["Properties"]["CodeUri"] = yaml("functions/x");
    assert_reports(&check_functions(&t, &binaries), &format!("{function}: CodeUri"));

    // 2. A schedule's target without its DLQ, on a function without a destination of its own.
    let mut t = original.clone();
    let schedule = first_of(&original, "AWS::Scheduler::Schedule");
    let target_fn = refs(get(&original, &["Resources", &schedule, "Properties", "Target", "Arn"]).unwrap())
        .into_iter()
        .next()
        .unwrap();
    t["Resources"][&schedule]["Properties"]["Target"].as_mapping_mut().unwrap().remove("DeadLetterConfig");
    for key in ["EventInvokeConfig", "DeadLetterQueue"] {
        t["Resources"][&target_fn]["Properties"].as_mapping_mut().unwrap().remove(key);
    }
    assert_reports(&check_async_failure_paths(&t), &format!("{target_fn} is invoked asynchronously"));
    // ... or with a DLQ its role may not send to (a problem even when the function has a
    // destination of its own: that one never sees a failed delivery).
    let mut t = original.clone();
    let role = refs(get(&original, &["Resources", &schedule, "Properties", "Target", "RoleArn"]).unwrap())
        .into_iter()
        .next()
        .unwrap();
    t["Resources"][&role]["Properties"]["Policies"] = yaml("[]");
    assert_reports(&check_async_failure_paths(&t), "not allowed sqs:SendMessage");
    // ... and a new SAM Schedule event with no failure path.
    let mut t = original.clone();
    let plain = functions(&original)
        .into_iter()
        .find(|(id, f)| function_failure_path(&original, id, f).is_none())
        .map(|(id, _)| id.to_string())
        .unwrap();
    t["Resources"][&plain]["Properties"]["Events"]["Nightly"] =
        yaml("{Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 day)}}");
    assert_reports(&check_async_failure_paths(&t), &format!("{plain} is invoked asynchronously"));

    // 3. A mapping without ReportBatchItemFailures, and a SAM SQS event without it.
    let mut t = original.clone();
    let mapping = first_of(&original, "AWS::Lambda::EventSourceMapping");
    t["Resources"][&mapping]["Properties"]["FunctionResponseTypes"] = yaml("[]");
    assert_reports(&check_batch_item_failures(&t), &format!("{mapping}: FunctionResponseTypes"));
    let mut t = original.clone();
    t["Resources"][&function]["Properties"]["Events"]["Queue"] =
        yaml("{Type: SQS, Properties: {Queue: !GetAtt SomeQueue.Arn}}");
    assert_reports(&check_batch_item_failures(&t), &format!("{function} event Queue"));
    // (which the IAM check rejects too: SAM attaches AWSLambdaSQSQueueExecutionRole)
    assert_reports(&check_iam(&t), "AWSLambdaSQSQueueExecutionRole");

    // 4. IAM: a wildcard action, a service wildcard, "*" resources, managed policies.
    fn statement<'a>(t: &'a mut Value, function: &str) -> &'a mut Value {
        &mut t["Resources"][function]["Properties"]["Policies"][0]["Statement"][0]
    }
    let mut t = original.clone();
    statement(&mut t, &function)["Action"] = yaml("'*'");
    assert_reports(&check_iam(&t), &format!("{function} Policies[0] Statement[0]: Action \"*\""));
    let mut t = original.clone();
    statement(&mut t, &function)["Action"] = yaml("[dynamodb:GetItem, 'sqs:*']");
    assert_reports(&check_iam(&t), "Action \"sqs:*\"");
    let mut t = original.clone();
    statement(&mut t, &function)["Resource"] = yaml("'*'");
    assert_reports(&check_iam(&t), &format!("{function} Policies[0] Statement[0]: Resource \"*\""));
    let mut t = original.clone();
    statement(&mut t, &function)["Action"] = yaml("[cloudwatch:PutMetricData]");
    statement(&mut t, &function)["Resource"] = yaml("'*'");
    assert_none("IAM wildcard (allow-listed action)", check_iam(&t));
    let mut t = original.clone();
    t["Resources"][&function]["Properties"]["Policies"]
        .as_sequence_mut()
        .unwrap()
        .push(yaml("AWSLambdaSQSQueueExecutionRole"));
    assert_reports(&check_iam(&t), "managed policy AWSLambdaSQSQueueExecutionRole");
    let mut t = original.clone();
    t["Resources"][&function]["Properties"]["Policies"]
        .as_sequence_mut()
        .unwrap()
        .push(yaml("{SQSPollerPolicy: {QueueName: !GetAtt Q.QueueName}}"));
    assert_none("IAM wildcard (SQSPollerPolicy)", check_iam(&t));
    let mut t = original.clone();
    t["Resources"][&function]["Properties"]["Policies"]
        .as_sequence_mut()
        .unwrap()
        .push(yaml("{SQSPollerPolicy: {QueueName: '*'}}"));
    assert_reports(&check_iam(&t), "has a \"*\" parameter");
    let mut t = original.clone();
    let role = first_of(&original, "AWS::IAM::Role");
    t["Resources"][&role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"] = yaml("'lambda:*'");
    assert_reports(&check_iam(&t), &format!("{role} Policies[0]"));

    // 5. A route missing on either side.
    let (route, _) = template_webhook_routes(&original).into_iter().next().unwrap();
    let mut without = runner_routes();
    without.remove(&route);
    assert_reports(
        &check_webhook_routes(&original, &without),
        &format!("{} {} has no matching route", route.0, route.1),
    );
    let mut with_extra = runner_routes();
    with_extra.insert(("GET".into(), "/webhooks/extra".into()));
    assert_reports(&check_webhook_routes(&original, &with_extra), "local runner route GET /webhooks/extra");

    // 6. A function's throttles alarm removed; a per-function alarm made unconditional; a
    // dead-letter queue's alarm removed; the API's 5xx alarm removed; a scheduled function's
    // on-failure destination removed.
    let mut t = original.clone();
    let throttles = resources_of(&original, &["AWS::CloudWatch::Alarm"])
        .into_iter()
        .find(|(_, a)| get_str(a, &["Properties", "MetricName"]) == Some("Throttles"))
        .map(|(id, a)| (id.to_string(), refs(get(a, &["Properties", "Dimensions"]).unwrap())))
        .unwrap();
    t["Resources"].as_mapping_mut().unwrap().remove(&throttles.0);
    let watched_fn = throttles.1.into_iter().next().unwrap();
    assert_reports(&check_alarms(&t), &format!("{watched_fn}: no alarm on AWS/Lambda Throttles"));
    let mut t = original.clone();
    resource_mut(&mut t, &throttles.0).as_mapping_mut().unwrap().remove("Condition");
    assert_reports(&check_alarms(&t), &format!("{watched_fn}: its Throttles alarm must be created only under"));
    let mut t = original.clone();
    let depth = resources_of(&original, &["AWS::CloudWatch::Alarm"])
        .into_iter()
        .find(|(_, a)| get_str(a, &["Properties", "Namespace"]) == Some("AWS/SQS"))
        .map(|(id, a)| (id.to_string(), refs(get(a, &["Properties", "Dimensions"]).unwrap())))
        .unwrap();
    t["Resources"].as_mapping_mut().unwrap().remove(&depth.0);
    let dlq = depth.1.into_iter().next().unwrap();
    assert_reports(&check_alarms(&t), &format!("{dlq}: dead-letter queue without an alarm"));
    let mut t = original.clone();
    let api_alarm = resources_of(&original, &["AWS::CloudWatch::Alarm"])
        .into_iter()
        .find(|(_, a)| get_str(a, &["Properties", "MetricName"]) == Some("5xx"))
        .map(|(id, _)| id.to_string())
        .expect("an alarm on the HTTP API's 5xx");
    t["Resources"].as_mapping_mut().unwrap().remove(&api_alarm);
    assert_reports(
        &check_alarms(&t),
        "StripeWebhookFunction: a failure reaches no alarm: HTTP API ForesightHttpApi has no alarm on its 5xx",
    );
    let mut t = original.clone();
    resource_mut(&mut t, "ReportsFunction")["Properties"].as_mapping_mut().unwrap().remove("EventInvokeConfig");
    assert_reports(&check_alarms(&t), "ReportsFunction: a failure reaches no alarm: no alarmed on-failure destination");
}

/// `foresight cost` bills the template's alarms ($0.10 each a month): its counts are these ones.
#[test]
fn the_cost_model_counts_the_alarms_the_template_creates() {
    let alarms = alarms(&load_template());
    let default = alarms.iter().filter(|a| a.condition.is_none()).count() as u64;
    let per_function = alarms.iter().filter(|a| a.condition.as_deref() == Some(PER_FUNCTION_ALARMS)).count() as u64;
    assert_eq!(default, foresight::cost::ALARMS_BY_DEFAULT, "update ALARMS_BY_DEFAULT in infra/foresight/src/cost.rs");
    assert_eq!(
        per_function,
        foresight::cost::PER_FUNCTION_ALARMS,
        "update PER_FUNCTION_ALARMS in infra/foresight/src/cost.rs"
    );
    assert_eq!(alarms.len() as u64, default + per_function, "an alarm under another condition: teach the cost model");
}

//! Static checks of the SAM template (`template.yaml`): the function build settings, a failure
//! path for every asynchronous invocation, partial batch responses on every queue mapping, no
//! wildcard IAM, the same routes in the template and in the local runner, the dashboard's JWT
//! authorizer on every route that carries customer data and none of the dashboard without its
//! sign-in parameters, and an alarm on every function's errors and throttles and on every
//! dead-letter queue's depth.
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
// 5. Routes: template vs. local runner

/// The function an `AWS::ApiGatewayV2::Route` reaches: its `integrations/${Integration}` target's
/// `IntegrationUri`.
fn route_function(template: &Value, route: &Value) -> String {
    let integrations = get(route, &["Properties", "Target"])
        .map(|target| refs_of_type(template, target, &["AWS::ApiGatewayV2::Integration"]))
        .unwrap_or_default();
    let functions: BTreeSet<String> = integrations
        .iter()
        .filter_map(|id| get(template, &["Resources", id, "Properties", "IntegrationUri"]))
        .flat_map(|uri| refs_of_type(template, uri, &[SERVERLESS_FUNCTION, LAMBDA_FUNCTION]))
        .collect();
    functions.into_iter().next().unwrap_or_else(|| "(no function)".into())
}

/// (METHOD, path) of every route of the template: the functions' HttpApi events (the webhooks,
/// Segment's HTTP Tracking API, `/unsubscribe`) and the dashboard API's `AWS::ApiGatewayV2::Route`
/// resources, each with the resource that serves it (the function, or the route resource when it
/// reaches no function).
fn template_routes(template: &Value) -> BTreeMap<(String, String), String> {
    let mut routes = BTreeMap::new();
    for (id, function) in functions(template) {
        let Some(events) = get(function, &["Properties", "Events"]).and_then(Value::as_mapping) else { continue };
        for event in events.values() {
            if !matches!(get_str(event, &["Type"]), Some("HttpApi" | "Api")) {
                continue;
            }
            let path = get_str(event, &["Properties", "Path"]).unwrap_or("");
            let method = get_str(event, &["Properties", "Method"]).unwrap_or("ANY").to_uppercase();
            routes.insert((method, path.to_string()), id.to_string());
        }
    }
    for (_, route) in resources_of(template, &["AWS::ApiGatewayV2::Route"]) {
        let key = get_str(route, &["Properties", "RouteKey"]).unwrap_or("");
        let (method, path) = key.split_once(' ').unwrap_or(("ANY", key));
        routes.insert((method.to_uppercase(), path.to_string()), route_function(template, route));
    }
    routes
}

fn check_routes(template: &Value, in_runner: &BTreeSet<(String, String)>) -> Vec<String> {
    let mut problems = Vec::new();
    let in_template = template_routes(template);
    if in_template.is_empty() {
        problems.push("the template has no route (did the parse break?)".into());
    }
    if in_runner.is_empty() {
        problems.push("the runner's DEPLOYED_ROUTES is empty".into());
    }
    for ((method, path), function) in &in_template {
        if !in_runner.contains(&(method.clone(), path.clone())) {
            problems.push(format!(
                "{function}: route {method} {path} has no matching route in the local runner \
                 (DEPLOYED_ROUTES in infra/foresight/src/server.rs)"
            ));
        }
    }
    for (method, path) in in_runner {
        if !in_template.contains_key(&(method.clone(), path.clone())) {
            problems.push(format!(
                "local runner route {method} {path} (infra/foresight/src/server.rs) has no route in template.yaml"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// 5b. The dashboard: a JWT authorizer on every data route, and nothing without its parameters

/// The condition every dashboard resource carries, and the parameters it needs.
const DASHBOARD_CONDITION: &str = "HasDashboardSignIn";
const DASHBOARD_PARAMETERS: [&str; 2] = ["DashboardIssuerUrl", "DashboardAudience"];

/// Every route whose path carries customer data (the runner's read routes, `foresight::auth`) is
/// an `AWS::ApiGatewayV2::Route` with `AuthorizationType: JWT` and an `AuthorizerId` naming a
/// JWT authorizer whose issuer and audience are the dashboard's parameters; no API allows any
/// origin by CORS.
fn check_read_route_authorizers(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut read_routes = 0;
    for (id, function) in functions(template) {
        let Some(events) = get(function, &["Properties", "Events"]).and_then(Value::as_mapping) else { continue };
        for event in events.values().filter(|e| matches!(get_str(e, &["Type"]), Some("HttpApi" | "Api"))) {
            let path = get_str(event, &["Properties", "Path"]).unwrap_or("");
            let method = get_str(event, &["Properties", "Method"]).unwrap_or("ANY").to_uppercase();
            if foresight::auth::is_read_route(path) {
                problems.push(format!(
                    "{id}: {method} {path} serves customer data from an HttpApi event; declare it as an \
                     AWS::ApiGatewayV2::Route with the JWT authorizer"
                ));
            }
        }
    }
    for (id, route) in resources_of(template, &["AWS::ApiGatewayV2::Route"]) {
        let key = get_str(route, &["Properties", "RouteKey"]).unwrap_or("");
        let path = key.split_once(' ').map(|(_, p)| p).unwrap_or(key);
        if !foresight::auth::is_read_route(path) {
            continue;
        }
        read_routes += 1;
        if get_str(route, &["Properties", "AuthorizationType"]) != Some("JWT") {
            problems.push(format!("{id}: {key} serves customer data without AuthorizationType: JWT"));
        }
        let authorizers = get(route, &["Properties", "AuthorizerId"])
            .map(|a| refs_of_type(template, a, &["AWS::ApiGatewayV2::Authorizer"]))
            .unwrap_or_default();
        if authorizers.is_empty() {
            problems.push(format!("{id}: {key} has no AuthorizerId naming an AWS::ApiGatewayV2::Authorizer"));
        }
        for authorizer in authorizers {
            let a = get(template, &["Resources", &authorizer, "Properties"]).cloned().unwrap_or(Value::Null);
            let issuer = get(&a, &["JwtConfiguration", "Issuer"]).map(refs).unwrap_or_default();
            let audience = get(&a, &["JwtConfiguration", "Audience"]).map(refs).unwrap_or_default();
            if get_str(&a, &["AuthorizerType"]) != Some("JWT")
                || !issuer.contains(DASHBOARD_PARAMETERS[0])
                || !audience.contains(DASHBOARD_PARAMETERS[1])
            {
                problems.push(format!(
                    "{id}: authorizer {authorizer} must be a JWT authorizer with the issuer {} and the audience {}",
                    DASHBOARD_PARAMETERS[0], DASHBOARD_PARAMETERS[1]
                ));
            }
        }
    }
    if read_routes == 0 {
        problems.push("the template has no data route of the dashboard (GET /kpis, /accounts...)".into());
    }
    for (id, api) in resources_of(template, &["AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"]) {
        let cors = get(api, &["Properties", "CorsConfiguration"]);
        let origins = cors.and_then(|c| c.get("AllowOrigins")).map(strings).unwrap_or_default();
        if origins.iter().any(|o| o.contains('*')) || cors.is_some_and(|c| c.as_bool() == Some(true)) {
            problems.push(format!("{id}: CorsConfiguration allows any origin ({origins:?})"));
        }
    }
    problems
}

/// Whether a condition holds with these parameter values (the others at their defaults):
/// `!Equals`, `!Not`, `!And`, `!Or` and `!Condition` over `!Ref` parameters and literals.
fn condition_holds(template: &Value, name: &str, parameters: &BTreeMap<&str, &str>) -> Result<bool, String> {
    fn text(template: &Value, v: &Value, parameters: &BTreeMap<&str, &str>) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(t) if t.tag == "Ref" => {
                let name = t.value.as_str().unwrap_or("");
                match parameters.get(name) {
                    Some(value) => Ok(value.to_string()),
                    None => get(template, &["Parameters", name, "Default"])
                        .map(|d| d.as_str().map(String::from).unwrap_or_else(|| format!("{d:?}")))
                        .ok_or_else(|| format!("parameter {name} has no default")),
                }
            }
            other => Err(format!("cannot evaluate {other:?}")),
        }
    }
    fn eval(template: &Value, v: &Value, parameters: &BTreeMap<&str, &str>) -> Result<bool, String> {
        let Value::Tagged(t) = v else { return Err(format!("cannot evaluate {v:?}")) };
        let args = items(&t.value);
        match t.tag.to_string().trim_start_matches('!') {
            "Equals" if args.len() == 2 => {
                Ok(text(template, args[0], parameters)? == text(template, args[1], parameters)?)
            }
            "Not" if args.len() == 1 => Ok(!eval(template, args[0], parameters)?),
            "And" => args.iter().try_fold(true, |all, a| Ok(all && eval(template, a, parameters)?)),
            "Or" => args.iter().try_fold(false, |any, a| Ok(any || eval(template, a, parameters)?)),
            "Condition" => condition_holds(template, t.value.as_str().unwrap_or(""), parameters),
            other => Err(format!("cannot evaluate !{other}")),
        }
    }
    let condition = get(template, &["Conditions", name]).ok_or_else(|| format!("no condition {name}"))?;
    eval(template, condition, parameters)
}

/// The resources (and outputs) deployed with these parameter values: those without a
/// `Condition`, or whose condition holds.
fn deployed(template: &Value, section: &str, parameters: &BTreeMap<&str, &str>) -> Result<Vec<String>, String> {
    let mut kept = Vec::new();
    for (id, item) in template.get(section).and_then(Value::as_mapping).into_iter().flatten() {
        let id = id.as_str().unwrap_or("").to_string();
        let holds = match get_str(item, &["Condition"]) {
            None => true,
            Some(condition) => condition_holds(template, condition, parameters).map_err(|e| format!("{id}: {e}"))?,
        };
        if holds {
            kept.push(id);
        }
    }
    Ok(kept)
}

/// The dashboard's resources: the API Gateway v2 resources, the functions its routes reach, what
/// refers to either (the invoke permission), and those functions' log groups.
fn dashboard_resources(template: &Value) -> BTreeSet<String> {
    let mut side: BTreeSet<String> = resources(template)
        .into_iter()
        .filter(|(_, r)| resource_type(r).starts_with("AWS::ApiGatewayV2::"))
        .map(|(id, _)| id.to_string())
        .collect();
    for (_, route) in resources_of(template, &["AWS::ApiGatewayV2::Route"]) {
        side.insert(route_function(template, route));
    }
    for (id, function) in functions(template) {
        if side.contains(id) {
            if let Some(log_group) = get(function, &["Properties", "LoggingConfig", "LogGroup"]) {
                side.extend(refs(log_group));
            }
        }
    }
    for (id, resource) in resources(template) {
        if refs(resource).iter().any(|r| side.contains(r)) && !side.contains(id) {
            side.insert(id.to_string());
        }
    }
    side.remove("(no function)");
    side
}

/// With the dashboard's parameters empty (their defaults) no dashboard resource, route,
/// authorizer or output exists; with them set, every one does (so nothing of it is left out of
/// the condition by accident). Every dashboard resource carries [`DASHBOARD_CONDITION`], alone
/// or combined with another condition.
fn check_dashboard_conditional(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let side = dashboard_resources(template);
    if side.is_empty() {
        problems.push("the template has no dashboard (no AWS::ApiGatewayV2 resource)".into());
    }
    for id in &side {
        // Its own condition, or one combining it with another (its per-function alarms).
        let condition = get_str(template, &["Resources", id, "Condition"]);
        if !condition.is_some_and(|c| condition_parts(template, c).contains(DASHBOARD_CONDITION)) {
            problems.push(format!(
                "{id}: a dashboard resource must carry Condition: {DASHBOARD_CONDITION}, found {condition:?}"
            ));
        }
    }
    let empty = BTreeMap::new();
    // Set, with the optional per-function alarms on so that every dashboard resource is expected.
    let set: BTreeMap<&str, &str> = [
        (DASHBOARD_PARAMETERS[0], "https://issuer.example"),
        (DASHBOARD_PARAMETERS[1], "foresight"),
        ("PerFunctionAlarms", "true"),
    ]
    .into();
    for (label, parameters, exists) in [("empty", &empty, false), ("set", &set, true)] {
        let (resources, outputs) =
            match (deployed(template, "Resources", parameters), deployed(template, "Outputs", parameters)) {
                (Ok(r), Ok(o)) => (r, o),
                (Err(e), _) | (_, Err(e)) => {
                    problems.push(e);
                    continue;
                }
            };
        for id in &side {
            if resources.contains(id) != exists {
                let verb = if exists { "is missing" } else { "still exists" };
                problems.push(format!("{id} {verb} with the dashboard's parameters {label}"));
            }
        }
        if outputs.iter().any(|o| o == "DashboardUrl") != exists {
            problems.push(format!("output DashboardUrl: wrong presence with the dashboard's parameters {label}"));
        }
    }
    // Either parameter alone is not enough.
    for only in DASHBOARD_PARAMETERS {
        let one: BTreeMap<&str, &str> = [(only, "x")].into();
        if condition_holds(template, DASHBOARD_CONDITION, &one).unwrap_or(true) {
            problems.push(format!("{DASHBOARD_CONDITION} holds with only {only} set"));
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

/// The condition itself and the conditions it combines (`!And [!Condition A, ...]`), by name.
fn condition_parts(template: &Value, name: &str) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Tagged(t) if t.tag == "Condition" => {
                if let Value::String(s) = &t.value {
                    out.insert(s.clone());
                }
            }
            Value::Tagged(t) => walk(&t.value, out),
            Value::Sequence(seq) => seq.iter().for_each(|x| walk(x, out)),
            Value::Mapping(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        (Some("Condition"), Value::String(s)) => {
                            out.insert(s.clone());
                        }
                        _ => walk(x, out),
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::from([name.to_string()]);
    if let Some(definition) = get(template, &["Conditions", name]) {
        walk(definition, &mut out);
    }
    out
}

/// Every failure ends in an alarm that exists whenever the function does, whatever the parameters:
/// - a function behind the HTTP API: an alarm on that API's `5xx` answers;
/// - a function polling a queue: the queue's dead-letter queue (its redrive policy) is alarmed;
/// - a function invoked asynchronously (schedules, rules): its on-failure destination is alarmed;
/// - every dead-letter queue and on-failure destination: an alarm on its visible messages.
///
/// With `PerFunctionAlarms`, every function also has an `Errors` and a `Throttles` alarm, created
/// under that condition only, alone or combined with the function's own (they cost $0.10 each a
/// month).
fn check_alarms(template: &Value) -> Vec<String> {
    let alarms = alarms(template);
    // An alarm exists whenever the resource it watches does: it has no condition, or the same.
    let always = |namespace: &str, metric: &str, id: &str| {
        let watched_condition = get_str(template, &["Resources", id, "Condition"]);
        alarms.iter().any(|a| {
            a.namespace == namespace
                && a.metric == metric
                && a.watches.contains(id)
                && (a.condition.is_none() || a.condition.as_deref() == watched_condition)
        })
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
                let under = alarm.condition.as_deref().map(|c| condition_parts(template, c)).unwrap_or_default();
                if !under.contains(PER_FUNCTION_ALARMS) {
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
fn routes_match_the_local_runner() {
    assert_none("routes", check_routes(&load_template(), &runner_routes()));
}

#[test]
fn every_data_route_has_the_jwt_authorizer() {
    assert_none("dashboard authorizer", check_read_route_authorizers(&load_template()));
}

#[test]
fn the_dashboard_exists_only_with_its_sign_in_parameters() {
    assert_none("dashboard condition", check_dashboard_conditional(&load_template()));
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
    let (route, _) = template_routes(&original).into_iter().next().unwrap();
    let mut without = runner_routes();
    without.remove(&route);
    assert_reports(&check_routes(&original, &without), &format!("{} {} has no matching route", route.0, route.1));
    let mut with_extra = runner_routes();
    with_extra.insert(("GET".into(), "/webhooks/extra".into()));
    assert_reports(&check_routes(&original, &with_extra), "local runner route GET /webhooks/extra");
    let mut without_read = runner_routes();
    without_read.remove(&("GET".to_string(), "/accounts/{account_id}".to_string()));
    assert_reports(&check_routes(&original, &without_read), "GET /accounts/{account_id} has no matching route");

    // 5b. A data route without the authorizer, or with another authorizer; a data route as a
    // SAM event; CORS for any origin; a dashboard resource without the condition; a condition
    // that one parameter satisfies.
    let data_route = resources_of(&original, &["AWS::ApiGatewayV2::Route"])
        .into_iter()
        .find(|(_, r)| get_str(r, &["Properties", "AuthorizationType"]) == Some("JWT"))
        .map(|(id, _)| id.to_string())
        .unwrap();
    let mut t = original.clone();
    t["Resources"][&data_route]["Properties"]["AuthorizationType"] = yaml("NONE");
    t["Resources"][&data_route]["Properties"].as_mapping_mut().unwrap().remove("AuthorizerId");
    let problems = check_read_route_authorizers(&t);
    assert_reports(&problems, &format!("{data_route}: GET /"));
    assert_reports(&problems, "without AuthorizationType: JWT");
    let mut t = original.clone();
    let authorizer = first_of(&original, "AWS::ApiGatewayV2::Authorizer");
    t["Resources"][&authorizer]["Properties"]["JwtConfiguration"]["Audience"] = yaml("[somebody-else]");
    assert_reports(&check_read_route_authorizers(&t), &format!("authorizer {authorizer} must be a JWT authorizer"));
    let mut t = original.clone();
    t["Resources"][&function]["Properties"]["Events"]["Leak"] =
        yaml("{Type: HttpApi, Properties: {ApiId: !Ref ForesightHttpApi, Path: /accounts, Method: GET}}");
    assert_reports(&check_read_route_authorizers(&t), "GET /accounts serves customer data from an HttpApi event");
    let mut t = original.clone();
    let api = first_of(&original, "AWS::ApiGatewayV2::Api");
    t["Resources"][&api]["Properties"]["CorsConfiguration"] = yaml("{AllowOrigins: ['*']}");
    assert_reports(&check_read_route_authorizers(&t), &format!("{api}: CorsConfiguration allows any origin"));
    for resource in [
        data_route.clone(),
        authorizer.clone(),
        "ReadApiFunction".into(),
        "ReadApiLogGroup".into(),
        "ReadApiPermission".into(),
    ] {
        let mut t = original.clone();
        t["Resources"][&resource].as_mapping_mut().unwrap().remove("Condition");
        let problems = check_dashboard_conditional(&t);
        assert_reports(&problems, &format!("{resource}: a dashboard resource must carry Condition"));
        assert_reports(&problems, &format!("{resource} still exists with the dashboard's parameters empty"));
    }
    let mut t = original.clone();
    t["Conditions"][DASHBOARD_CONDITION] = yaml("!Not [!Equals [!Ref DashboardIssuerUrl, '']]");
    assert_reports(&check_dashboard_conditional(&t), "holds with only DashboardIssuerUrl set");
    let mut t = original.clone();
    t["Outputs"]["DashboardUrl"].as_mapping_mut().unwrap().remove("Condition");
    assert_reports(&check_dashboard_conditional(&t), "output DashboardUrl: wrong presence");

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
        .find(|(_, a)| {
            get_str(a, &["Properties", "Namespace"]) == Some("AWS/SQS")
                && get_str(a, &["Properties", "MetricName"]) == Some("ApproximateNumberOfMessagesVisible")
        })
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
    let under = |condition: Option<&str>| alarms.iter().filter(|a| a.condition.as_deref() == condition).count() as u64;
    let default = under(None);
    let per_function = under(Some(PER_FUNCTION_ALARMS));
    let dashboard = under(Some("HasDashboardSignIn"));
    let dashboard_per_function = under(Some("HasDashboardPerFunctionAlarms"));
    assert_eq!(default, foresight::cost::ALARMS_BY_DEFAULT, "update ALARMS_BY_DEFAULT in infra/foresight/src/cost.rs");
    assert_eq!(
        per_function,
        foresight::cost::PER_FUNCTION_ALARMS,
        "update PER_FUNCTION_ALARMS in infra/foresight/src/cost.rs"
    );
    assert_eq!((dashboard, dashboard_per_function), (1, 2), "the dashboard's alarms (README, What it costs)");
    assert_eq!(
        alarms.len() as u64,
        default + per_function + dashboard + dashboard_per_function,
        "an alarm under another condition: teach the cost model"
    );
}

//! `registry import`: loads actors, partnerships, memberships and allocations from a CSV or
//! JSON Lines file. Each line is read as the matching GraphQL create input (`CreateActorInput`,
//! `CreatePartnershipInput`, `AddMemberInput`, `CreateAllocationInput`), so it is checked by
//! exactly the parsers and domain rules of the API; `persistence::import` checks the rules
//! that need stored data and writes the rows in batches inside one transaction.
//!
//! Lines refer to records of earlier lines by their `ref` (`parentRef`, `leadActorRef`,
//! `partnershipRef`, `actorRef`), to stored records by their API id (`parentId`...), and to
//! programmes by `programmeCode` or `programmeId`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::InputType;
use chrono::NaiveDate;
use domain::ids::{ActorId, PartnershipId};
use persistence::Database;
use persistence::import::{Import, ImportCounts, ImportError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::graphql::actor::CreateActorInput;
use crate::graphql::funding::CreateAllocationInput;
use crate::graphql::partnership::{
    AddMemberInput, CreatePartnershipInput, details_from, lead_roles, role_set,
};
use crate::ids::{self, NodeType};

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A header line of field names, then one record per line; lists separated by `;`.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// What a line creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordType {
    Actor,
    Partnership,
    Membership,
    Allocation,
}

impl RecordType {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "actor" => Some(Self::Actor),
            "partnership" => Some(Self::Partnership),
            "membership" => Some(Self::Membership),
            "allocation" => Some(Self::Allocation),
            _ => None,
        }
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    /// The type of every line; JSON Lines may name it per line in `"type"` instead.
    pub record_type: Option<RecordType>,
    /// Skip lines that break a rule (each is reported) instead of rolling the file back.
    pub skip_invalid: bool,
}

/// Where the import is, for a progress display: bytes read of the file and rows done.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: AtomicU64,
    pub rows: AtomicU64,
}

/// The result of an import that committed.
#[derive(Debug)]
pub struct Report {
    pub counts: ImportCounts,
    /// The lines skipped with `--skip-invalid`, with their errors.
    pub skipped: Vec<String>,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Import(#[from] ImportError),
}

/// A line's number and fields, or why it could not be read.
type RawLine = Result<(u64, Map<String, Value>), String>;

/// Integer fields of the inputs: a CSV cell is text, GraphQL wants a number.
const INT_FIELDS: [&str; 3] = ["population", "nutsVersion", "lauYear"];
/// List fields of the inputs: a CSV cell holds them separated by `;`.
const LIST_FIELDS: [&str; 4] = ["themes", "governanceLevels", "roles", "leadRoles"];

/// Reads `path` and imports it into `db`; nothing is written unless every line (or, with
/// `skip_invalid`, every kept line and every rule across lines) is valid.
pub async fn run(
    db: &Database,
    path: &Path,
    options: &Options,
    progress: Arc<Progress>,
) -> Result<Report, Failure> {
    if options.format == Format::Csv && options.record_type.is_none() {
        return Err(Failure::Invalid(
            "--type is required for CSV: a CSV file holds one type of record".into(),
        ));
    }
    let file = std::fs::File::open(path)?;
    let hasher = Arc::new(std::sync::Mutex::new(Sha256::new()));
    let reader = Counting {
        inner: file,
        progress: Arc::clone(&progress),
        hasher: Arc::clone(&hasher),
    };
    let records: Box<dyn Iterator<Item = RawLine> + Send> = match options.format {
        Format::Jsonl => Box::new(jsonl_records(BufReader::with_capacity(1 << 16, reader))),
        Format::Csv => Box::new(csv_records(reader)?),
    };
    let mut import = db.begin_import().await.map_err(ImportError::from)?;
    let mut state = State::default();
    let mut skipped = Vec::new();
    for record in records {
        let outcome = match record {
            Ok((line, record)) => state
                .line(&mut import, line, record, options.record_type)
                .await
                .map_err(|e| (Some(line), e)),
            Err(message) => Err((None, LineFailure::Invalid(message))),
        };
        progress.rows.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(()) => {}
            Err((_, LineFailure::Import(ImportError::Database(e)))) => {
                return Err(ImportError::Database(e).into());
            }
            Err((line, failure)) => {
                let message = match (line, failure) {
                    (_, LineFailure::Import(e)) => e.to_string(),
                    (Some(line), LineFailure::Invalid(m)) => format!("line {line}: {m}"),
                    (None, LineFailure::Invalid(m)) => m,
                };
                if !options.skip_invalid {
                    return Err(Failure::Invalid(message));
                }
                skipped.push(message);
            }
        }
    }
    let digest = match hasher.lock() {
        Ok(h) => h.clone().finalize(),
        Err(poisoned) => poisoned.into_inner().clone().finalize(),
    };
    let summary = serde_json::json!({
        "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "format": format!("{:?}", options.format).to_lowercase(),
        "bytes": progress.bytes.load(Ordering::Relaxed),
        "sha256": digest.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "skippedLines": skipped.len(),
    });
    let counts = import.finish(summary).await?;
    Ok(Report { counts, skipped })
}

/// Why one line was refused.
enum LineFailure {
    Invalid(String),
    Import(ImportError),
}

impl From<ImportError> for LineFailure {
    fn from(e: ImportError) -> Self {
        Self::Import(e)
    }
}

impl From<ApiError> for LineFailure {
    fn from(e: ApiError) -> Self {
        Self::Invalid(describe(e))
    }
}

fn describe(e: ApiError) -> String {
    match e {
        ApiError::BadInput { field, message } | ApiError::Conflict { field, message } => {
            format!("{field}: {message}")
        }
        ApiError::NotFound { message } | ApiError::Forbidden { message } => message,
        other => format!("{other:?}"),
    }
}

/// The refs of the lines read so far.
#[derive(Default)]
struct State {
    actors: HashMap<String, ActorId>,
    partnerships: HashMap<String, PartnershipId>,
    /// Refs of skipped lines, to say why a later line cannot use them.
    failed_refs: HashSet<String>,
}

impl State {
    async fn line(
        &mut self,
        import: &mut Import,
        line: u64,
        mut record: Map<String, Value>,
        fixed_type: Option<RecordType>,
    ) -> Result<(), LineFailure> {
        let kind = match (record.remove("type"), fixed_type) {
            (Some(Value::String(t)), _) => RecordType::parse(&t).ok_or_else(|| {
                LineFailure::Invalid(format!(
                    "type: must be actor, partnership, membership or allocation (was {t:?})"
                ))
            })?,
            (Some(_), _) => {
                return Err(LineFailure::Invalid("type: must be a string".into()));
            }
            (None, Some(t)) => t,
            (None, None) => {
                return Err(LineFailure::Invalid(
                    "type: is required (or give --type for the whole file)".into(),
                ));
            }
        };
        let own_ref = match record.remove("ref") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) if !r.trim().is_empty() && r.len() <= 200 => {
                let r = r.trim().to_owned();
                if self.actors.contains_key(&r) || self.partnerships.contains_key(&r) {
                    return Err(LineFailure::Invalid(format!(
                        "ref: {r:?} is already the ref of an earlier line"
                    )));
                }
                Some(r)
            }
            Some(_) => {
                return Err(LineFailure::Invalid(
                    "ref: must be a non-empty string of at most 200 characters".into(),
                ));
            }
        };
        let result = self.create(import, line, kind, record).await;
        match (result, own_ref) {
            (Ok(Created::Actor(id)), Some(r)) => {
                self.actors.insert(r, id);
            }
            (Ok(Created::Partnership(id)), Some(r)) => {
                self.partnerships.insert(r, id);
            }
            (Ok(_), _) => {}
            (Err(e), own_ref) => {
                self.failed_refs.extend(own_ref);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn create(
        &mut self,
        import: &mut Import,
        line: u64,
        kind: RecordType,
        mut record: Map<String, Value>,
    ) -> Result<Created, LineFailure> {
        match kind {
            RecordType::Actor => {
                self.resolve(&mut record, "parentRef", "parentId", Target::Actor)?;
                let input: CreateActorInput = parse_input(record)?;
                let (profile, parent) = input.parse_profile()?;
                Ok(Created::Actor(import.actor(line, profile, parent).await?))
            }
            RecordType::Partnership => {
                self.resolve(&mut record, "leadActorRef", "leadActorId", Target::Actor)?;
                let status = match record.remove("status") {
                    None | Some(Value::Null) => domain::partnership::PartnershipStatus::Draft,
                    Some(Value::String(s)) => domain::partnership::PartnershipStatus::from_code(&s)
                        .ok_or_else(|| {
                            LineFailure::Invalid(format!(
                                "status: must be DRAFT or ACTIVE (was {s:?})"
                            ))
                        })?,
                    Some(_) => return Err(LineFailure::Invalid("status: must be a string".into())),
                };
                let input: CreatePartnershipInput = parse_input(record)?;
                let details = details_from(
                    &input.title,
                    &input.description,
                    input.kind,
                    &input.themes,
                    &input.governance_levels,
                    input.start_date,
                    input.end_date,
                )?;
                let lead = input.lead_actor_id.as_ref().ok_or_else(|| {
                    ApiError::bad_input("leadActorId", "is required (or leadActorRef)")
                })?;
                let lead = ActorId::from_uuid(ids::decode(NodeType::Actor, lead, "leadActorId")?);
                let roles = lead_roles(input.lead_roles)?;
                let id = import
                    .partnership(line, details, status, lead, roles)
                    .await?;
                Ok(Created::Partnership(id))
            }
            RecordType::Membership => {
                self.resolve(
                    &mut record,
                    "partnershipRef",
                    "partnershipId",
                    Target::Partnership,
                )?;
                self.resolve(&mut record, "actorRef", "actorId", Target::Actor)?;
                let input: AddMemberInput = parse_input(record)?;
                let partnership = PartnershipId::from_uuid(ids::decode(
                    NodeType::Partnership,
                    &input.partnership_id,
                    "partnershipId",
                )?);
                let actor =
                    ActorId::from_uuid(ids::decode(NodeType::Actor, &input.actor_id, "actorId")?);
                let roles = role_set(&input.roles)?;
                let joined_on = input.joined_on.unwrap_or_else(today);
                import
                    .membership(line, partnership, actor, roles, joined_on)
                    .await?;
                Ok(Created::Other)
            }
            RecordType::Allocation => {
                self.resolve(
                    &mut record,
                    "partnershipRef",
                    "partnershipId",
                    Target::Partnership,
                )?;
                if let Some(code) = record.remove("programmeCode") {
                    if record.contains_key("programmeId") {
                        return Err(LineFailure::Invalid(
                            "programmeCode: give programmeCode or programmeId, not both".into(),
                        ));
                    }
                    let Value::String(code) = code else {
                        return Err(LineFailure::Invalid(
                            "programmeCode: must be a string".into(),
                        ));
                    };
                    let id = import
                        .programme_by_code(code.trim())
                        .await
                        .map_err(ImportError::from)?
                        .ok_or_else(|| {
                            LineFailure::Invalid(format!(
                                "programmeCode: refers to no programme ({code:?})"
                            ))
                        })?;
                    record.insert(
                        "programmeId".into(),
                        Value::String(ids::encode(NodeType::Programme, id.as_uuid()).0),
                    );
                }
                let input: CreateAllocationInput = parse_input(record)?;
                import.allocation(line, input.parse()?).await?;
                Ok(Created::Other)
            }
        }
    }

    /// Replaces `ref_field` (the ref of an earlier line) by `id_field` (its API id).
    fn resolve(
        &self,
        record: &mut Map<String, Value>,
        ref_field: &str,
        id_field: &str,
        target: Target,
    ) -> Result<(), LineFailure> {
        let Some(value) = record.remove(ref_field) else {
            return Ok(());
        };
        let Value::String(r) = value else {
            return Err(LineFailure::Invalid(format!(
                "{ref_field}: must be a string"
            )));
        };
        if record.get(id_field).is_some_and(|v| !v.is_null()) {
            return Err(LineFailure::Invalid(format!(
                "{ref_field}: give {ref_field} or {id_field}, not both"
            )));
        }
        let r = r.trim();
        let id = match target {
            Target::Actor => self
                .actors
                .get(r)
                .map(|id| ids::encode(NodeType::Actor, id.as_uuid())),
            Target::Partnership => self
                .partnerships
                .get(r)
                .map(|id| ids::encode(NodeType::Partnership, id.as_uuid())),
        };
        match id {
            Some(id) => {
                record.insert(id_field.to_owned(), Value::String(id.0));
                Ok(())
            }
            None if self.failed_refs.contains(r) => Err(LineFailure::Invalid(format!(
                "{ref_field}: {r:?} is the ref of a line that was not imported"
            ))),
            None => Err(LineFailure::Invalid(format!(
                "{ref_field}: {r:?} is not the ref of an earlier {} line",
                match target {
                    Target::Actor => "actor",
                    Target::Partnership => "partnership",
                }
            ))),
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Actor,
    Partnership,
}

enum Created {
    Actor(ActorId),
    Partnership(PartnershipId),
    Other,
}

/// The fields of an input object: name, and whether it must be given.
type Fields = Vec<(String, bool)>;

fn fields_of<T: InputType>() -> Fields {
    use async_graphql::registry::{MetaType, Registry};
    let mut registry = Registry::default();
    T::create_type_info(&mut registry);
    match registry.types.get(T::type_name().as_ref()) {
        Some(MetaType::InputObject { input_fields, .. }) => input_fields
            .values()
            .map(|f| {
                let required = f.ty.ends_with('!') && f.default_value.is_none();
                (f.name.clone(), required)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The fields of each create input, read once from the schema's own type information.
fn fields<T: InputType>() -> &'static Fields {
    use std::sync::OnceLock;
    static ACTOR: OnceLock<Fields> = OnceLock::new();
    static PARTNERSHIP: OnceLock<Fields> = OnceLock::new();
    static MEMBERSHIP: OnceLock<Fields> = OnceLock::new();
    static ALLOCATION: OnceLock<Fields> = OnceLock::new();
    static OTHER: OnceLock<Fields> = OnceLock::new();
    let cell = match T::type_name().as_ref() {
        "CreateActorInput" => &ACTOR,
        "CreatePartnershipInput" => &PARTNERSHIP,
        "AddMemberInput" => &MEMBERSHIP,
        "CreateAllocationInput" => &ALLOCATION,
        _ => &OTHER,
    };
    cell.get_or_init(fields_of::<T>)
}

/// Reads a line's fields as a GraphQL input object, with the API's own coercion (enums by
/// name, dates, decimals as strings). Unknown and missing fields are named; so is the field
/// whose value a coercion error quotes.
fn parse_input<T: InputType>(record: Map<String, Value>) -> Result<T, LineFailure> {
    let known = fields::<T>();
    if let Some(unknown) = record
        .keys()
        .find(|k| !known.iter().any(|(name, _)| name == *k))
    {
        return Err(LineFailure::Invalid(format!(
            "{unknown}: is not a field of this type of line"
        )));
    }
    if let Some((missing, _)) = known
        .iter()
        .find(|(name, required)| *required && record.get(name).is_none_or(Value::is_null))
    {
        return Err(LineFailure::Invalid(format!("{missing}: is required")));
    }
    // Kept to name the field of a coercion error (`failed_field`).
    let record = Value::Object(record);
    let value = async_graphql::Value::from_json(record.clone())
        .map_err(|e| LineFailure::Invalid(format!("not a valid record: {e}")))?;
    T::parse(Some(value)).map_err(|e| {
        let message = e.into_server_error(async_graphql::Pos::default()).message;
        LineFailure::Invalid(match failed_field(&record, &message) {
            Some((field, message)) => format!("{field}: {message}"),
            None => message,
        })
    })
}

/// The field of a line a coercion error is about, with the rule to show: the field whose value
/// the message quotes, else the one `crate::graphql::coercion` finds by its type.
fn failed_field(record: &Value, message: &str) -> Option<(String, String)> {
    let quoting = record.as_object().and_then(|fields| {
        fields.iter().find_map(|(k, v)| {
            let quoted = format!("\"{}\"", v.as_str()?);
            message
                .contains(&quoted)
                .then(|| (k.clone(), message.to_owned()))
        })
    });
    quoting.or_else(|| crate::graphql::coercion::field_in_variables(message, record))
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn jsonl_records(reader: impl BufRead + Send + 'static) -> impl Iterator<Item = RawLine> + Send {
    reader.lines().enumerate().filter_map(|(i, line)| {
        let number = i as u64 + 1;
        match line {
            Err(e) => Some(Err(format!("line {number}: cannot be read: {e}"))),
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok((number, map)),
                Ok(_) => Err(format!("line {number}: must be a JSON object")),
                Err(e) => Err(format!("line {number}: is not valid JSON: {e}")),
            }),
        }
    })
}

fn csv_records(
    reader: impl Read + Send + 'static,
) -> Result<impl Iterator<Item = RawLine> + Send, Failure> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| Failure::Invalid(format!("line 1: the header cannot be read: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    Ok(csv.into_records().map(move |record| {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            format!("line {line}: {e}")
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        let mut map = Map::new();
        for (name, cell) in headers.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let value = if LIST_FIELDS.contains(&name.as_str()) {
                Value::Array(
                    cell.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )
            } else if INT_FIELDS.contains(&name.as_str()) {
                cell.parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| format!("line {line}: {name}: must be a whole number"))?
            } else {
                Value::String(cell.to_owned())
            };
            map.insert(name.clone(), value);
        }
        Ok((line, map))
    }))
}

/// A reader that counts the bytes read (for the progress display) and hashes them (for the
/// audit event).
struct Counting<R> {
    inner: R,
    progress: Arc<Progress>,
    hasher: Arc<std::sync::Mutex<Sha256>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let chunk = buf.get(..n).unwrap_or_default();
        match self.hasher.lock() {
            Ok(mut h) => h.update(chunk),
            Err(poisoned) => poisoned.into_inner().update(chunk),
        }
        Ok(n)
    }
}

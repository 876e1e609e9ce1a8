//! The built-in taxonomy. Each rule carries a symptom code (what is observed)
//! and a root-cause code (why); the stage config picks which one is reported.
//! Codes are stable: never renumber, only add.

use crate::{MatchConfig, RuleConfig, SeverityName};

struct Builtin {
    symptom: &'static str,
    cause: &'static str,
    severity: SeverityName,
    confidence: f32,
    exception_type: Option<&'static str>,
    message: Option<&'static str>,
    module: Option<&'static str>,
    http_status: Option<[u16; 2]>,
}

const fn rule(symptom: &'static str, cause: &'static str, severity: SeverityName) -> Builtin {
    Builtin {
        symptom,
        cause,
        severity,
        confidence: 0.9,
        exception_type: None,
        message: None,
        module: None,
        http_status: None,
    }
}

impl Builtin {
    const fn exc(mut self, re: &'static str) -> Self {
        self.exception_type = Some(re);
        self
    }
    const fn msg(mut self, re: &'static str) -> Self {
        self.message = Some(re);
        self
    }
    const fn module(mut self, re: &'static str) -> Self {
        self.module = Some(re);
        self
    }
    const fn status(mut self, lo: u16, hi: u16) -> Self {
        self.http_status = Some([lo, hi]);
        self
    }
    const fn confidence(mut self, c: f32) -> Self {
        self.confidence = c;
        self
    }
}

use SeverityName::{Critical, High, Low, Medium};

/// Ordered most specific first.
const RULES: &[Builtin] = &[
    // capacity / resource exhaustion
    rule("CAPACITY.MEMORY", "CAPACITY.MEMORY", Critical)
        .exc(r"^(MemoryError|OutOfMemoryError|OutOfMemoryException|std::bad_alloc|RangeError)$|OutOfMemory"),
    rule("CAPACITY.MEMORY", "CAPACITY.MEMORY", Critical)
        .msg(r"out of memory|cannot allocate memory|memory allocation (of \d+ bytes )?failed|heap out of memory|OOMKilled"),
    rule("CAPACITY.DISK", "INFRA.STORAGE", High)
        .msg(r"no space left on device|disk (is )?full|ENOSPC|quota exceeded"),
    rule("CAPACITY.FILE_DESCRIPTORS", "INFRA.HOST", High)
        .msg(r"too many open files|EMFILE"),
    rule("CAPACITY.POOL", "CAPACITY.POOL", High)
        .msg(r"(connection )?pool (is )?(exhausted|timeout|full)|QueuePool limit|too many (connections|clients)|remaining connection slots"),
    rule("CAPACITY.RATE_LIMIT", "DEPENDENCY.RATE_LIMIT", Medium)
        .msg(r"rate.?limit|too many requests|throttl|quota"),
    rule("CAPACITY.RATE_LIMIT", "DEPENDENCY.RATE_LIMIT", Medium).status(429, 429),
    // latency / timeouts
    rule("LATENCY.TIMEOUT.DATABASE", "INFRA.DATABASE", High)
        .exc(r"Timeout|TimedOut")
        .module(r"sql|psycopg|pg|mysql|mongo|redis|jdbc|hibernate|sequelize|prisma|diesel|sqlx"),
    rule("LATENCY.TIMEOUT", "DEPENDENCY.SLOW", High)
        .exc(r"Timeout|TimedOut|DeadlineExceeded|TaskCanceled"),
    rule("LATENCY.TIMEOUT", "DEPENDENCY.SLOW", High)
        .msg(r"timed? ?out|deadline exceeded|ETIMEDOUT|took too long|context deadline"),
    rule("LATENCY.TIMEOUT.GATEWAY", "DEPENDENCY.SLOW", High).status(504, 504),
    rule("LATENCY.TIMEOUT.CLIENT", "INPUT.CLIENT", Low).status(408, 408),
    // security / auth
    rule("SECURITY.AUTHENTICATION", "SECURITY.CREDENTIALS", Medium)
        .exc(r"Authenticat|Unauthori[sz]ed|InvalidToken|ExpiredSignature|JWT|Credential|Login"),
    rule("SECURITY.AUTHORIZATION", "SECURITY.PERMISSIONS", Medium)
        .exc(r"PermissionDenied|Forbidden|AccessDenied|NotAuthorized|SecurityException"),
    rule("SECURITY.CSRF", "SECURITY.CLIENT", Medium).msg(r"csrf|xsrf"),
    rule("SECURITY.AUTHENTICATION", "SECURITY.CREDENTIALS", Medium)
        .msg(r"invalid (api )?(token|credentials|signature)|authentication failed|not authenticated|token (has )?expired"),
    rule("SECURITY.AUTHENTICATION", "SECURITY.CREDENTIALS", Medium).status(401, 401),
    rule("SECURITY.AUTHORIZATION", "SECURITY.PERMISSIONS", Medium).status(403, 403),
    rule("SECURITY.TLS", "INFRA.CERTIFICATES", High)
        .msg(r"certificate|ssl|tls handshake|x509"),
    // configuration
    rule("CONFIG.MISSING", "CONFIG.DEPLOYMENT", High)
        .exc(r"ImproperlyConfigured|Config(uration)?(Error|Exception)|MissingSetting|EnvError"),
    rule("CONFIG.MISSING", "CONFIG.DEPLOYMENT", High)
        .msg(r"(missing|undefined|not set|unset) (required )?(env(ironment)? var|config|setting)|environment variable .* (is )?not (set|defined)|invalid configuration|misconfigur"),
    rule("CONFIG.FEATURE_FLAG", "CONFIG.DEPLOYMENT", Medium).msg(r"feature flag"),
    // data integrity
    rule("DATA.CONSTRAINT", "DATA.INTEGRITY", High)
        .exc(r"IntegrityError|UniqueViolation|ConstraintViolation|DuplicateKey|ForeignKeyViolation"),
    rule("DATA.CONSTRAINT", "DATA.INTEGRITY", High)
        .msg(r"duplicate key|unique constraint|foreign key constraint|violates (not-null|check) constraint"),
    rule("DATA.CORRUPTION", "DATA.INTEGRITY", Critical)
        .msg(r"checksum mismatch|corrupt|data loss|inconsistent state|integrity check failed"),
    rule("DATA.SERIALIZATION", "CODE.CONTRACT", Medium)
        .exc(r"JSONDecodeError|SerializationError|Deserializ|ParseError|SyntaxError: (Unexpected token|JSON)|UnmarshalError|InvalidFormat"),
    rule("DATA.NOT_FOUND", "DATA.MISSING", Medium)
        .exc(r"DoesNotExist|RecordNotFound|EntityNotFound|NoResultFound|ObjectNotFound"),
    // dependencies / third parties
    rule("DEPENDENCY.PAYMENT", "DEPENDENCY.THIRD_PARTY", Critical)
        .msg(r"stripe|paypal|adyen|braintree|payment (gateway|provider|processor)|card (was )?declined"),
    rule("DEPENDENCY.PAYMENT", "DEPENDENCY.THIRD_PARTY", Critical).module(r"stripe|paypal|adyen|braintree"),
    rule("DEPENDENCY.DNS", "INFRA.NETWORK", High)
        .msg(r"name or service not known|getaddrinfo|ENOTFOUND|could not resolve host|NXDOMAIN|temporary failure in name resolution"),
    rule("DEPENDENCY.BAD_GATEWAY", "DEPENDENCY.UPSTREAM", High).status(502, 502),
    rule("DEPENDENCY.BAD_GATEWAY", "DEPENDENCY.UPSTREAM", High).msg(r"bad gateway|upstream"),
    rule("DEPENDENCY.HTTP_CLIENT", "DEPENDENCY.UPSTREAM", Medium)
        .exc(r"HTTPError|RequestException|ApiError|ClientResponseError|ServiceException|HttpRequestException")
        .confidence(0.7),
    // availability
    rule("AVAILABILITY.DATABASE", "INFRA.DATABASE", Critical)
        .exc(r"OperationalError|ConnectionRefused|ConnectionError|ConnectException|ConnectionClosed|InterfaceError")
        .module(r"sql|psycopg|pg|mysql|mongo|redis|jdbc|hibernate|sequelize|prisma|diesel|sqlx"),
    rule("AVAILABILITY.DATABASE", "INFRA.DATABASE", Critical)
        .exc(r"(PSQL|SQL|JDBC|Mongo|Redis|Jedis|Lettuce|Hikari)\w*Exception|DatabaseError|DbException|SqlException")
        .msg(r"connect|refused|unavailable|closed|terminat|reset"),
    rule("AVAILABILITY.DATABASE", "INFRA.DATABASE", Critical)
        .msg(r"could not connect to (the )?(database|server)|database (is )?(unavailable|down)|server closed the connection|lost connection to (mysql|database)"),
    rule("AVAILABILITY.CONNECTION", "INFRA.NETWORK", High)
        .exc(r"ConnectionRefused|ConnectionReset|ConnectionError|ConnectException|BrokenPipe|SocketException|NetworkError|ECONNREFUSED|ECONNRESET"),
    rule("AVAILABILITY.CONNECTION", "INFRA.NETWORK", High)
        .msg(r"connection (refused|reset|aborted|closed)|connection to \S+ (was )?refused|ECONNREFUSED|ECONNRESET|broken pipe|network is unreachable|no route to host"),
    rule("AVAILABILITY.UNAVAILABLE", "DEPENDENCY.UPSTREAM", Critical)
        .msg(r"service unavailable|no healthy upstream|circuit (breaker )?(is )?open|maintenance mode"),
    rule("AVAILABILITY.UNAVAILABLE", "DEPENDENCY.UPSTREAM", Critical).status(503, 503),
    rule("AVAILABILITY.SERVER_ERROR", "CODE.DEFECT", High).status(500, 599).confidence(0.6),
    // client / user input
    rule("INPUT.VALIDATION", "INPUT.CLIENT", Low)
        .exc(r"ValidationError|InvalidArgument|IllegalArgument|BadRequest|InvalidInput|UnprocessableEntity|FormatException"),
    rule("INPUT.VALIDATION", "INPUT.CLIENT", Low)
        .msg(r"invalid (input|argument|parameter|request|email|format)|validation failed|must be (a|an|provided)|is required|malformed"),
    rule("INPUT.NOT_FOUND", "INPUT.CLIENT", Low).status(404, 404),
    rule("INPUT.VALIDATION", "INPUT.CLIENT", Low).status(400, 499).confidence(0.7),
    // application defects
    rule("DEFECT.NULL_REFERENCE", "CODE.DEFECT", High)
        .exc(r"NullPointer|NullReference|AttributeError|TypeError|UnboundLocalError|NoneType"),
    rule("DEFECT.NULL_REFERENCE", "CODE.DEFECT", High)
        .msg(r"undefined is not|cannot read propert|of undefined|of null|NoneType|null pointer|unwrap\(\) on a `None`"),
    rule("DEFECT.BOUNDS", "CODE.DEFECT", High)
        .exc(r"IndexError|IndexOutOfRange|ArrayIndexOutOfBounds|KeyError|NoSuchElement|OutOfBounds"),
    rule("DEFECT.ARITHMETIC", "CODE.DEFECT", Medium)
        .exc(r"ZeroDivision|ArithmeticException|DivideByZero|OverflowError"),
    rule("DEFECT.PANIC", "CODE.DEFECT", High)
        .exc(r"^(panic|Panic|RuntimeError|AssertionError|IllegalState|InvalidOperation|NotImplemented)")
        .confidence(0.6),
];

fn category(code: &str) -> Vec<String> {
    code.split('.')
        .map(|s| s.to_ascii_lowercase().replace('_', "-"))
        .collect()
}

/// The built-in rules in config form, ready to compile.
pub fn rules() -> Vec<RuleConfig> {
    RULES
        .iter()
        .map(|b| RuleConfig {
            code: b.symptom.to_string(),
            category: category(b.symptom),
            cause_code: Some(b.cause.to_string()),
            cause_category: Some(category(b.cause)),
            severity: b.severity,
            confidence: b.confidence,
            conditions: MatchConfig {
                exception_type: b.exception_type.map(str::to_string),
                message: b.message.map(str::to_string),
                module: b.module.map(str::to_string),
                logger: None,
                http_status: b.http_status,
            },
        })
        .collect()
}

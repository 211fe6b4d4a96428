//! The argument spec: what AnsibleModule's `argument_spec` and its companions declare, as
//! `const` data so a module's spec costs nothing at start-up and can be compared with its docs.

/// An option's type, with AnsibleModule's name for it (`type: str` and so on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    Float,
    List,
    Dict,
    Path,
    Raw,
}

impl Kind {
    /// The name Ansible's docs and messages use.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::List => "list",
            Kind::Dict => "dict",
            Kind::Path => "path",
            Kind::Raw => "raw",
        }
    }
}

/// A literal in a spec: a default, or the value a `required_if` rule looks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    Bool(bool),
    Int(i64),
    Str(&'static str),
    StrList(&'static [&'static str]),
}

impl Lit {
    #[must_use]
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Lit::Bool(b) => b.into(),
            Lit::Int(i) => i.into(),
            Lit::Str(s) => s.into(),
            Lit::StrList(items) => items.iter().map(|s| serde_json::Value::from(*s)).collect(),
        }
    }
}

/// One option of a module, as one entry of AnsibleModule's `argument_spec`.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    pub elements: Option<Kind>,
    pub required: bool,
    pub default: Option<Lit>,
    pub choices: &'static [&'static str],
    pub aliases: &'static [&'static str],
    pub no_log: bool,
    /// Suboptions of a `dict` option, or of each element of a `list` of `dict`s.
    pub options: &'static [Opt],
}

impl Opt {
    #[must_use]
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Opt {
            name,
            kind,
            elements: None,
            required: false,
            default: None,
            choices: &[],
            aliases: &[],
            no_log: false,
            options: &[],
        }
    }
    #[must_use]
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    #[must_use]
    pub const fn default(mut self, value: Lit) -> Self {
        self.default = Some(value);
        self
    }
    #[must_use]
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Self {
        self.choices = choices;
        self
    }
    #[must_use]
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    #[must_use]
    pub const fn elements(mut self, kind: Kind) -> Self {
        self.elements = Some(kind);
        self
    }
    #[must_use]
    pub const fn no_log(mut self) -> Self {
        self.no_log = true;
        self
    }
    #[must_use]
    pub const fn suboptions(mut self, options: &'static [Opt]) -> Self {
        self.options = options;
        self
    }
}

/// `required_if`: when `key` equals `value`, the `requirements` must be set (all of them, or
/// with `any` at least one).
#[derive(Debug, Clone, Copy)]
pub struct RequiredIf {
    pub key: &'static str,
    pub value: Lit,
    pub requirements: &'static [&'static str],
    pub any: bool,
}

/// Names that go together in one rule.
pub type Group = &'static [&'static str];

/// A module's whole spec: its options and the rules between them.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    pub options: &'static [Opt],
    pub mutually_exclusive: &'static [Group],
    pub required_together: &'static [Group],
    pub required_one_of: &'static [Group],
    pub required_if: &'static [RequiredIf],
    /// `required_by`: when the first name is set, the others must be too.
    pub required_by: &'static [(&'static str, Group)],
    pub supports_check_mode: bool,
}

impl ArgSpec {
    #[must_use]
    pub const fn new(options: &'static [Opt]) -> Self {
        ArgSpec {
            options,
            mutually_exclusive: &[],
            required_together: &[],
            required_one_of: &[],
            required_if: &[],
            required_by: &[],
            supports_check_mode: true,
        }
    }
    #[must_use]
    pub const fn mutually_exclusive(mut self, groups: &'static [Group]) -> Self {
        self.mutually_exclusive = groups;
        self
    }
    #[must_use]
    pub const fn required_together(mut self, groups: &'static [Group]) -> Self {
        self.required_together = groups;
        self
    }
    #[must_use]
    pub const fn required_one_of(mut self, groups: &'static [Group]) -> Self {
        self.required_one_of = groups;
        self
    }
    #[must_use]
    pub const fn required_if(mut self, rules: &'static [RequiredIf]) -> Self {
        self.required_if = rules;
        self
    }
    #[must_use]
    pub const fn required_by(mut self, rules: &'static [(&'static str, Group)]) -> Self {
        self.required_by = rules;
        self
    }
    #[must_use]
    pub const fn without_check_mode(mut self) -> Self {
        self.supports_check_mode = false;
        self
    }
}

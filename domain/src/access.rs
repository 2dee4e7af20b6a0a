//! Who may do what: the roles a token carries, the principal a request acts for, and the
//! rights, as pure functions of the principal and facts about the target that the caller has
//! loaded. Resolvers call these after loading the object; they never decide rights themselves.

use crate::actor::ActorKind;
use crate::ids::ActorId;
use crate::membership::{Role as MemberRole, RoleSet};
use crate::partnership::PartnershipStatus;

/// The role a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A municipality acting for itself.
    City,
    /// A region: itself and the municipalities in its territory.
    Region,
    /// An NGO, community group or network.
    Ngo,
    /// An actor that manages funding streams: reads everything, records allocations.
    Funder,
    /// Runs the registry.
    Admin,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::City,
        Self::Region,
        Self::Ngo,
        Self::Funder,
        Self::Admin,
    ];

    /// The claim value (`city`, `region`, `ngo`, `funder`, `admin`).
    pub const fn code(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::Region => "region",
            Self::Ngo => "ngo",
            Self::Funder => "funder",
            Self::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether an actor of `kind` may act in this role. A funder can be any kind of actor;
    /// what makes it a funder is managing a stream, which the caller checks.
    pub fn fits_actor_kind(self, kind: ActorKind) -> bool {
        match self {
            Self::City => kind == ActorKind::Municipality,
            Self::Region => kind == ActorKind::Region,
            Self::Ngo => matches!(
                kind,
                ActorKind::Ngo | ActorKind::CommunityGroup | ActorKind::Network
            ),
            Self::Funder | Self::Admin => true,
        }
    }

    /// Cities, regions and NGOs: the organisations that form partnerships.
    pub fn is_partner(self) -> bool {
        matches!(self, Self::City | Self::Region | Self::Ngo)
    }
}

/// The identity a request acts for, established once from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// The actor the token speaks for; `None` only for an administrator without one.
    pub actor_id: Option<ActorId>,
}

impl Principal {
    fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn is(&self, actor: ActorId) -> bool {
        self.actor_id == Some(actor)
    }
}

/// A refused operation, naming the right that was missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub &'static str);

type Right = Result<(), Denied>;

fn grant(allowed: bool, missing: &'static str) -> Right {
    if allowed {
        Ok(())
    } else {
        Err(Denied(missing))
    }
}

/// What the rights need to know of an actor that is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorFacts {
    pub id: ActorId,
    pub kind: ActorKind,
    pub parent_id: Option<ActorId>,
}

/// What the rights need to know of a partnership, as seen by the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnershipFacts {
    pub status: PartnershipStatus,
    /// The current LEAD member.
    pub lead: Option<ActorId>,
    /// Whether the principal's actor is a current member.
    pub principal_is_member: bool,
}

impl PartnershipFacts {
    fn led_by(&self, principal: &Principal) -> bool {
        self.lead.is_some_and(|lead| principal.is(lead))
    }
}

/// A DRAFT partnership exists only for its members, funders and administrators; everything
/// else is visible to every authenticated principal.
pub fn can_see_partnership(principal: &Principal, facts: &PartnershipFacts) -> bool {
    facts.status != PartnershipStatus::Draft
        || facts.principal_is_member
        || matches!(principal.role, Role::Funder | Role::Admin)
}

/// Registering an actor: administrators any actor; a region a MUNICIPALITY in its territory.
pub fn can_create_actor(principal: &Principal, kind: ActorKind, parent: Option<ActorId>) -> Right {
    let region_for_its_municipality = principal.role == Role::Region
        && kind == ActorKind::Municipality
        && parent.is_some_and(|p| principal.is(p));
    grant(
        principal.is_admin() || region_for_its_municipality,
        "registering an actor needs the administrator role, or the region role for a MUNICIPALITY whose parent is that region",
    )
}

/// Editing an actor: itself (keeping its place in the hierarchy); a region its MUNICIPALITY
/// actors (which stay in its territory); administrators any actor.
pub fn can_edit_actor(
    principal: &Principal,
    target: &ActorFacts,
    new_parent: Option<ActorId>,
) -> Right {
    let own = principal.is(target.id) && new_parent == target.parent_id;
    let region_for_its_municipality = principal.role == Role::Region
        && target.kind == ActorKind::Municipality
        && target.parent_id.is_some_and(|p| principal.is(p))
        && new_parent.is_some_and(|p| principal.is(p));
    grant(
        principal.is_admin() || own || region_for_its_municipality,
        "editing an actor needs to be that actor (which keeps its place in the hierarchy), its region (for a municipality, which stays in the region), or an administrator",
    )
}

/// Archiving an actor (the registry never deletes one): administrators only.
pub fn can_archive_actor(principal: &Principal) -> Right {
    grant(
        principal.is_admin(),
        "archiving an actor needs the administrator role",
    )
}

/// Marking an actor verified: administrators only.
pub fn can_verify_actor(principal: &Principal) -> Right {
    grant(
        principal.is_admin(),
        "verifying an actor needs the administrator role",
    )
}

/// Creating a partnership: any partner, which becomes its LEAD; administrators for any lead.
pub fn can_create_partnership(principal: &Principal, lead: ActorId) -> Right {
    let partner_leading = principal.role.is_partner() && principal.is(lead);
    grant(
        principal.is_admin() || partner_leading,
        "creating a partnership needs a partner role (city, region, ngo), whose actor becomes its LEAD, or the administrator role",
    )
}

/// Editing a partnership, changing its status, changing its members' roles and dates: its
/// LEAD and administrators.
pub fn can_manage_partnership(principal: &Principal, facts: &PartnershipFacts) -> Right {
    grant(
        principal.is_admin() || facts.led_by(principal),
        "managing a partnership needs to be its LEAD or an administrator",
    )
}

/// The roles an actor may take by joining on its own; the others (LEAD, MENTOR, FUNDING...)
/// are given by the LEAD.
pub const SELF_JOIN_ROLES: [MemberRole; 3] = [
    MemberRole::Partner,
    MemberRole::AssociatedPartner,
    MemberRole::SponsorGroup,
];

/// Adding a member: the LEAD and administrators add anyone in any role; an actor adds itself
/// as a PARTNER, ASSOCIATED_PARTNER or SPONSOR_GROUP.
pub fn can_add_member(
    principal: &Principal,
    facts: &PartnershipFacts,
    actor: ActorId,
    roles: &RoleSet,
) -> Right {
    let joins_itself = principal.role.is_partner()
        && principal.is(actor)
        && roles.iter().all(|r| SELF_JOIN_ROLES.contains(&r));
    grant(
        principal.is_admin() || facts.led_by(principal) || joins_itself,
        "adding a member needs to be the partnership's LEAD or an administrator, or the actor joining as PARTNER, ASSOCIATED_PARTNER or SPONSOR_GROUP",
    )
}

/// Leaving: the current member itself, the LEAD, and administrators. A former member cannot
/// rewrite when it left.
pub fn can_end_membership(
    principal: &Principal,
    facts: &PartnershipFacts,
    member: ActorId,
    member_is_current: bool,
) -> Right {
    grant(
        principal.is_admin()
            || facts.led_by(principal)
            || (principal.is(member) && member_is_current),
        "ending a membership needs to be that current member, the partnership's LEAD, or an administrator",
    )
}

/// Recording or changing an allocation: funders on the streams they manage, administrators.
pub fn can_manage_allocation(principal: &Principal, stream_managers: &[ActorId]) -> Right {
    let manages = principal.role == Role::Funder
        && principal
            .actor_id
            .is_some_and(|a| stream_managers.contains(&a));
    grant(
        principal.is_admin() || manages,
        "recording allocations needs the funder role for an actor that manages this funding stream, or the administrator role",
    )
}

/// Creating or changing a programme: funders managing its stream, administrators.
pub fn can_manage_programme(principal: &Principal, stream_managers: &[ActorId]) -> Right {
    let manages = principal.role == Role::Funder
        && principal
            .actor_id
            .is_some_and(|a| stream_managers.contains(&a));
    grant(
        principal.is_admin() || manages,
        "managing a programme needs the funder role for an actor that manages its funding stream, or the administrator role",
    )
}

/// Reading the audit findings: funders and administrators.
pub fn can_audit(principal: &Principal) -> Right {
    grant(
        matches!(principal.role, Role::Funder | Role::Admin),
        "reading audit findings needs the funder or administrator role",
    )
}

/// Changing funding streams, their managers and their ceiling rules: administrators only.
pub fn can_manage_funding_rules(principal: &Principal) -> Right {
    grant(
        principal.is_admin(),
        "changing funding streams and their ceiling rules needs the administrator role",
    )
}

#[cfg(test)]
mod tests;

//! Memberships: which actor takes part in a partnership, in which roles (IATI's organisation
//! roles plus the ones partnerships need), and the rules on the whole set of members: one
//! LEAD at most, exactly one while ACTIVE, and mentors paired with mentees in city-to-city
//! mentoring.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use crate::ValidationError;
use crate::ids::{ActorId, MembershipId, PartnershipId};
use crate::partnership::{PartnershipKind, PartnershipStatus, code_enum};

code_enum!(
    /// What an actor does in a partnership. One actor can hold several roles.
    Role {
        Lead = "LEAD",
        Partner = "PARTNER",
        AssociatedPartner = "ASSOCIATED_PARTNER",
        Mentor = "MENTOR",
        Mentee = "MENTEE",
        SponsorGroup = "SPONSOR_GROUP",
        Funding = "FUNDING",
        Accountable = "ACCOUNTABLE",
        Extending = "EXTENDING",
        Implementing = "IMPLEMENTING",
    }
);

/// A non-empty set of roles in which an actor is not both mentor and mentee.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    pub fn parse(roles: &[Role]) -> Result<Self, ValidationError> {
        let set = crate::partnership::unique_set("roles", roles, Role::code)?;
        if set.is_empty() {
            return Err(ValidationError::new("roles", "must name at least one role"));
        }
        if set.contains(&Role::Mentor) && set.contains(&Role::Mentee) {
            return Err(ValidationError::new(
                "roles",
                "an actor cannot be both MENTOR and MENTEE in one partnership",
            ));
        }
        Ok(Self(set))
    }

    /// Reads the stored form (`LEAD,PARTNER`). `None` when the text is not a valid set.
    pub fn from_stored(text: &str) -> Option<Self> {
        let roles: Option<Vec<Role>> = text.split(',').map(Role::from_code).collect();
        Self::parse(&roles?).ok()
    }

    /// The stored form: codes in a fixed order, comma-separated.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

/// A stored membership: one actor in one partnership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: MembershipId,
    pub partnership_id: PartnershipId,
    pub actor_id: ActorId,
    pub roles: RoleSet,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    /// Raised by every change (optimistic concurrency).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Membership {
    /// A member who has not left.
    pub fn is_current(&self) -> bool {
        self.left_on.is_none()
    }
}

/// A member's dates: left, if at all, not before joined.
pub fn check_membership_dates(
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
) -> Result<(), ValidationError> {
    crate::dates::check_date("joinedOn", joined_on)?;
    if let Some(left) = left_on {
        crate::dates::check_date("leftOn", left)?;
    }
    match left_on {
        Some(left) if left < joined_on => Err(ValidationError::new(
            "leftOn",
            format!("{left} is before the date the member joined ({joined_on})"),
        )),
        _ => Ok(()),
    }
}

/// Checks the current members (those who have not left) of a partnership of `kind` in
/// `status`: never more than one LEAD; while ACTIVE exactly one; and an ACTIVE city-to-city
/// mentoring partnership has at least one MENTOR and one MENTEE.
pub fn check_members<'a>(
    kind: PartnershipKind,
    status: PartnershipStatus,
    current_members: impl IntoIterator<Item = &'a RoleSet>,
) -> Result<(), ValidationError> {
    let (mut leads, mut mentors, mut mentees) = (0usize, 0usize, 0usize);
    for roles in current_members {
        leads += usize::from(roles.contains(Role::Lead));
        mentors += usize::from(roles.contains(Role::Mentor));
        mentees += usize::from(roles.contains(Role::Mentee));
    }
    if leads > 1 {
        return Err(ValidationError::new(
            "roles",
            "a partnership has at most one LEAD",
        ));
    }
    if status == PartnershipStatus::Active {
        if leads == 0 {
            return Err(ValidationError::new(
                "roles",
                "an ACTIVE partnership needs exactly one LEAD among its current members",
            ));
        }
        if kind == PartnershipKind::CityToCityMentoring && (mentors == 0 || mentees == 0) {
            return Err(ValidationError::new(
                "roles",
                "an ACTIVE city-to-city mentoring partnership pairs at least one MENTOR with at least one MENTEE",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartnershipKind::*;
    use PartnershipStatus::*;
    use Role::*;

    fn roles(r: &[Role]) -> RoleSet {
        RoleSet::parse(r).expect("roles")
    }

    #[test]
    fn role_sets_are_non_empty_unique_and_not_mentor_and_mentee() {
        assert!(RoleSet::parse(&[Lead, Mentor]).is_ok());
        assert_eq!(RoleSet::parse(&[]).expect_err("empty").field, "roles");
        assert_eq!(
            RoleSet::parse(&[Partner, Partner])
                .expect_err("dup")
                .message,
            "lists PARTNER twice"
        );
        assert!(RoleSet::parse(&[Mentor, Mentee]).is_err());
    }

    #[test]
    fn stored_form_round_trips_in_a_fixed_order() {
        let set = roles(&[Implementing, Lead, Funding]);
        assert_eq!(set.to_stored(), "LEAD,FUNDING,IMPLEMENTING");
        assert_eq!(RoleSet::from_stored(&set.to_stored()), Some(set));
        assert_eq!(RoleSet::from_stored("LEAD,CAPTAIN"), None);
        assert_eq!(RoleSet::from_stored(""), None);
    }

    #[test]
    fn left_is_not_before_joined() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert!(check_membership_dates(d("2020-01-01"), None).is_ok());
        assert!(check_membership_dates(d("2020-01-01"), Some(d("2020-01-01"))).is_ok());
        assert_eq!(
            check_membership_dates(d("2020-01-02"), Some(d("2020-01-01")))
                .expect_err("before")
                .field,
            "leftOn"
        );
    }

    #[test]
    fn at_most_one_lead_and_exactly_one_while_active() {
        let lead = roles(&[Lead]);
        let partner = roles(&[Partner]);
        assert!(check_members(ProjectConsortium, Draft, [&partner]).is_ok());
        assert!(check_members(ProjectConsortium, Draft, [&lead, &lead]).is_err());
        assert!(check_members(ProjectConsortium, Active, [&partner]).is_err());
        assert!(check_members(ProjectConsortium, Active, [&lead, &partner]).is_ok());
        assert!(check_members(ProjectConsortium, Active, [&lead, &lead]).is_err());
        assert!(check_members(ProjectConsortium, Completed, [&partner]).is_ok());
    }

    #[test]
    fn active_mentoring_pairs_mentors_with_mentees() {
        let lead_mentor = roles(&[Lead, Mentor]);
        let mentee = roles(&[Mentee]);
        let mentor = roles(&[Mentor]);
        assert!(check_members(CityToCityMentoring, Active, [&lead_mentor, &mentee]).is_ok());
        let err = check_members(CityToCityMentoring, Active, [&lead_mentor, &mentor])
            .expect_err("no mentee");
        assert!(err.message.contains("MENTEE"));
        assert!(check_members(CityToCityMentoring, Draft, [&lead_mentor]).is_ok());
        assert!(check_members(NetworkInitiative, Active, [&lead_mentor]).is_ok());
    }
}

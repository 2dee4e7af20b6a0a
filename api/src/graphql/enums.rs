//! GraphQL enums: mirrors of the domain's enums (`remote`), so the domain stays free of
//! GraphQL and a new variant fails to compile here until it is exposed.

use async_graphql::Enum;

/// What kind of organisation an actor is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::actor::ActorKind")]
pub enum ActorKind {
    Municipality,
    Region,
    NationalAuthority,
    Ngo,
    CommunityGroup,
    Network,
    EuInstitution,
    InternationalOrganisation,
}

/// The shape of a partnership.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::PartnershipKind")]
pub enum PartnershipKind {
    CityToCityMentoring,
    RegionalSponsorshipProgramme,
    MultistakeholderPlatform,
    NetworkInitiative,
    ProjectConsortium,
}

/// An integration theme.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::Theme")]
pub enum Theme {
    EducationAndTraining,
    AccessToBasicServices,
    Housing,
    Employment,
    LanguageLearning,
    Health,
    ActiveParticipationAndSocialInclusion,
    CommunitySponsorship,
    ResettlementAndComplementaryPathways,
    Reception,
}

/// A level of government.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::GovernanceLevel")]
pub enum GovernanceLevel {
    Local,
    Regional,
    National,
    Eu,
}

/// Where a partnership is in its life: DRAFT -> ACTIVE -> COMPLETED, or -> WITHDRAWN.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::partnership::PartnershipStatus")]
pub enum PartnershipStatus {
    Draft,
    Active,
    Completed,
    Withdrawn,
}

/// What an actor does in a partnership (IATI's organisation roles and the partnership roles).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::membership::Role")]
pub enum Role {
    Lead,
    Partner,
    AssociatedPartner,
    Mentor,
    Mentee,
    SponsorGroup,
    Funding,
    Accountable,
    Extending,
    Implementing,
}

/// Where an allocation is in its life: REQUESTED -> AWARDED -> CLOSED; REQUESTED ->
/// REJECTED; REQUESTED or AWARDED -> CANCELLED.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::AllocationStatus")]
pub enum AllocationStatus {
    Requested,
    Awarded,
    Closed,
    Rejected,
    Cancelled,
}

/// IATI's budget types.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::BudgetKind")]
pub enum BudgetKind {
    Original,
    Revised,
}

/// What a payment is; a RECOVERY is subtracted from the paid total.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::PaymentKind")]
pub enum PaymentKind {
    PreFinancing,
    Interim,
    Balance,
    Recovery,
}

/// The rules the audit checks.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::FindingRule")]
pub enum FindingRule {
    RateOverCeiling,
    PaymentsOverAward,
    DecidedAfterPartnershipEnded,
    ActiveWithoutLead,
    EnvelopeOverdrawn,
}

/// What `fundingSummary` groups by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "persistence::repo::Dimension")]
pub enum SummaryDimension {
    Stream,
    Programme,
    Country,
    Region,
    /// The partnership's set of themes as one key (`HOUSING,EMPLOYMENT`), so each allocation
    /// is in exactly one group.
    Theme,
    /// The year of the decision.
    Year,
    /// The kind of the partnership's LEAD actor.
    ActorKind,
    Status,
}

/// Up or down.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(remote = "persistence::SortDirection")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// How a list of partnerships is ordered; ties are broken by id.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
#[graphql(remote = "persistence::repo::PartnershipOrder")]
pub enum PartnershipOrderField {
    Title,
    StartDate,
    #[default]
    Created,
}

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

/// Where an allocation is in its life: REQUESTED -> AWARDED, REQUESTED or AWARDED -> CANCELLED.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::funding::AllocationStatus")]
pub enum AllocationStatus {
    Requested,
    Awarded,
    Cancelled,
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

//! Typed identifiers, so that an actor's id cannot be passed where a partnership's is expected.
//! They are UUIDv7: unique across instances without coordination and ordered by creation,
//! which keeps primary-key indexes compact and gives keyset pagination a stable order.

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, ordered after every id made earlier by this process.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An actor: an organisation (city, region, NGO, ...).
    ActorId
);
id_type!(
    /// A partnership.
    PartnershipId
);
id_type!(
    /// One actor's membership of one partnership.
    MembershipId
);
id_type!(
    /// A funding stream (AMIF, ESF+, ERDF).
    StreamId
);
id_type!(
    /// A co-financing ceiling rule row.
    CeilingRuleId
);
id_type!(
    /// An allocation of a stream's money to a partnership.
    AllocationId
);
id_type!(
    /// A programme of a funding stream.
    ProgrammeId
);
id_type!(
    /// An entry of an allocation's payments ledger.
    PaymentId
);

//! The rights table, exhaustively: every operation, in every ownership situation, for every
//! role. Each row lists the expected answer for city, region, ngo, funder and admin.

use super::*;
use crate::actor::ActorKind::{self, *};
use crate::membership::{Role as MemberRole, RoleSet};
use crate::partnership::PartnershipStatus::{self, *};

fn roles(r: &[MemberRole]) -> RoleSet {
    RoleSet::parse(r).expect("roles")
}

/// Who the principal is in a case: its own actor (`me`, an arbitrary actor for an
/// administrator) and another actor (`other`).
struct Scene {
    p: Principal,
    me: ActorId,
    other: ActorId,
}

fn scene(role: Role) -> Scene {
    let me = ActorId::generate();
    Scene {
        p: Principal {
            subject: format!("{}-user", role.code()),
            role,
            actor_id: (role != Role::Admin).then_some(me),
        },
        me,
        other: ActorId::generate(),
    }
}

fn facts(status: PartnershipStatus, lead: Option<ActorId>, member: bool) -> PartnershipFacts {
    PartnershipFacts {
        status,
        lead,
        principal_is_member: member,
    }
}

fn actor(id: ActorId, kind: ActorKind, parent: Option<ActorId>) -> ActorFacts {
    ActorFacts {
        id,
        kind,
        parent_id: parent,
    }
}

type Case = (&'static str, fn(&Scene) -> bool, [bool; 5]);

//                                                              city   region ngo    funder admin
const CASES: &[Case] = &[
    (
        "see a DRAFT partnership as a member",
        |s| can_see_partnership(&s.p, &facts(Draft, Some(s.other), true)),
        [true, true, true, true, true],
    ),
    (
        "see a DRAFT partnership as an outsider",
        |s| can_see_partnership(&s.p, &facts(Draft, Some(s.other), false)),
        [false, false, false, true, true],
    ),
    (
        "see an ACTIVE partnership as an outsider",
        |s| can_see_partnership(&s.p, &facts(Active, Some(s.other), false)),
        [true, true, true, true, true],
    ),
    (
        "see a COMPLETED partnership as an outsider",
        |s| can_see_partnership(&s.p, &facts(Completed, Some(s.other), false)),
        [true, true, true, true, true],
    ),
    (
        "see a WITHDRAWN partnership as an outsider",
        |s| can_see_partnership(&s.p, &facts(Withdrawn, None, false)),
        [true, true, true, true, true],
    ),
    (
        "register a MUNICIPALITY in one's own territory",
        |s| can_create_actor(&s.p, Municipality, Some(s.me)).is_ok(),
        [false, true, false, false, true],
    ),
    (
        "register a MUNICIPALITY in another territory",
        |s| can_create_actor(&s.p, Municipality, Some(s.other)).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "register a MUNICIPALITY without a parent",
        |s| can_create_actor(&s.p, Municipality, None).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "register a REGION under oneself",
        |s| can_create_actor(&s.p, Region, Some(s.me)).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "register an NGO",
        |s| can_create_actor(&s.p, Ngo, None).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "edit one's own actor",
        |s| can_edit_actor(&s.p, &actor(s.me, Municipality, None), None).is_ok(),
        [true, true, true, true, true],
    ),
    (
        "edit another actor",
        |s| can_edit_actor(&s.p, &actor(s.other, Ngo, None), None).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "edit a MUNICIPALITY of one's territory, keeping it there",
        |s| can_edit_actor(&s.p, &actor(s.other, Municipality, Some(s.me)), Some(s.me)).is_ok(),
        [false, true, false, false, true],
    ),
    (
        "move a MUNICIPALITY out of one's territory",
        |s| {
            can_edit_actor(
                &s.p,
                &actor(s.other, Municipality, Some(s.me)),
                Some(s.other),
            )
            .is_ok()
        },
        [false, false, false, false, true],
    ),
    (
        "edit an NGO that belongs to oneself",
        |s| can_edit_actor(&s.p, &actor(s.other, Ngo, Some(s.me)), Some(s.me)).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "edit a MUNICIPALITY of another territory",
        |s| {
            can_edit_actor(
                &s.p,
                &actor(s.other, Municipality, Some(s.other)),
                Some(s.other),
            )
            .is_ok()
        },
        [false, false, false, false, true],
    ),
    (
        "verify an actor",
        |s| can_verify_actor(&s.p).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "create a partnership led by oneself",
        |s| can_create_partnership(&s.p, s.me).is_ok(),
        [true, true, true, false, true],
    ),
    (
        "create a partnership led by another actor",
        |s| can_create_partnership(&s.p, s.other).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "manage a partnership one leads",
        |s| can_manage_partnership(&s.p, &facts(Active, Some(s.me), true)).is_ok(),
        [true, true, true, true, true],
    ),
    (
        "manage a partnership one is a member of",
        |s| can_manage_partnership(&s.p, &facts(Active, Some(s.other), true)).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "manage a partnership one is outside of",
        |s| can_manage_partnership(&s.p, &facts(Draft, Some(s.other), false)).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "add another actor to a partnership one leads",
        |s| {
            can_add_member(
                &s.p,
                &facts(Active, Some(s.me), true),
                s.other,
                &roles(&[MemberRole::Mentor]),
            )
            .is_ok()
        },
        [true, true, true, true, true],
    ),
    (
        "add another actor to a partnership one does not lead",
        |s| {
            can_add_member(
                &s.p,
                &facts(Active, Some(s.other), true),
                s.other,
                &roles(&[MemberRole::Partner]),
            )
            .is_ok()
        },
        [false, false, false, false, true],
    ),
    (
        "join a partnership oneself",
        |s| {
            can_add_member(
                &s.p,
                &facts(Active, Some(s.other), false),
                s.me,
                &roles(&[MemberRole::Partner]),
            )
            .is_ok()
        },
        [true, true, true, false, true],
    ),
    (
        "end one's own membership",
        |s| can_end_membership(&s.p, &facts(Active, Some(s.other), true), s.me, true).is_ok(),
        [true, true, true, true, true],
    ),
    (
        "end another's membership in a partnership one leads",
        |s| can_end_membership(&s.p, &facts(Active, Some(s.me), true), s.other, true).is_ok(),
        [true, true, true, true, true],
    ),
    (
        "end another's membership in a partnership one does not lead",
        |s| can_end_membership(&s.p, &facts(Active, Some(s.other), true), s.other, true).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "record an allocation on a stream one manages",
        |s| can_manage_allocation(&s.p, &[s.me]).is_ok(),
        [false, false, false, true, true],
    ),
    (
        "record an allocation on a stream another manages",
        |s| can_manage_allocation(&s.p, &[s.other]).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "record an allocation on a stream nobody manages",
        |s| can_manage_allocation(&s.p, &[]).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "change streams and ceiling rules",
        |s| can_manage_funding_rules(&s.p).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "manage a programme of a stream one manages",
        |s| can_manage_programme(&s.p, &[s.me]).is_ok(),
        [false, false, false, true, true],
    ),
    (
        "manage a programme of a stream another manages",
        |s| can_manage_programme(&s.p, &[s.other]).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "move one's own actor to another parent",
        |s| can_edit_actor(&s.p, &actor(s.me, Municipality, Some(s.other)), None).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "join a partnership oneself as FUNDING",
        |s| {
            let funding = roles(&[MemberRole::Funding]);
            can_add_member(&s.p, &facts(Active, Some(s.other), false), s.me, &funding).is_ok()
        },
        [false, false, false, false, true],
    ),
    (
        "change when one left, as a former member",
        |s| can_end_membership(&s.p, &facts(Active, Some(s.other), false), s.me, false).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "archive an actor",
        |s| can_archive_actor(&s.p).is_ok(),
        [false, false, false, false, true],
    ),
    (
        "read the audit findings",
        |s| can_audit(&s.p).is_ok(),
        [false, false, false, true, true],
    ),
];

#[test]
fn the_rights_table_holds_for_every_role() {
    let mut failures = Vec::new();
    for (name, check, expected) in CASES {
        for (role, expected) in Role::ALL.into_iter().zip(expected) {
            let got = check(&scene(role));
            if got != *expected {
                failures.push(format!(
                    "{} may {name}: expected {expected}, got {got}",
                    role.code()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rights table mismatches:\n{}",
        failures.join("\n")
    );
    assert_eq!(CASES.len(), 39);
}

#[test]
fn refusals_name_the_missing_right() {
    let s = scene(Role::City);
    let Err(Denied(message)) = can_manage_partnership(&s.p, &facts(Active, Some(s.other), true))
    else {
        panic!("a member that is not the LEAD cannot manage the partnership");
    };
    assert!(message.contains("LEAD"), "{message}");
    let Err(Denied(message)) = can_manage_allocation(&s.p, &[]) else {
        panic!("a city records no allocation");
    };
    assert!(message.contains("funder"), "{message}");
}

#[test]
fn roles_fit_actor_kinds() {
    use crate::actor::ActorKind::*;
    let table: [(Role, &[ActorKind]); 5] = [
        (Role::City, &[Municipality]),
        (Role::Region, &[Region]),
        (Role::Ngo, &[Ngo, CommunityGroup, Network]),
        (Role::Funder, &ActorKind::ALL),
        (Role::Admin, &ActorKind::ALL),
    ];
    for (role, fits) in table {
        for kind in ActorKind::ALL {
            assert_eq!(
                role.fits_actor_kind(kind),
                fits.contains(&kind),
                "{role:?} as {kind:?}"
            );
        }
    }
    for role in Role::ALL {
        assert_eq!(Role::from_code(role.code()), Some(role));
    }
    assert_eq!(Role::from_code("superuser"), None);
    assert_eq!(Role::from_code("Admin"), None, "role codes are exact");
}

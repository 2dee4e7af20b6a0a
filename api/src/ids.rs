//! Global ids: what clients see as `id` is `base64url("<Type>:<uuid>")`, opaque and typed, so
//! `node(id:)` knows which table to read and an actor's id is never accepted as a
//! partnership's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;

/// The node types that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Actor,
    Partnership,
    Membership,
    FundingStream,
    CeilingRule,
    Allocation,
    Programme,
    Payment,
}

impl NodeType {
    const ALL: [Self; 8] = [
        Self::Actor,
        Self::Partnership,
        Self::Membership,
        Self::FundingStream,
        Self::CeilingRule,
        Self::Allocation,
        Self::Programme,
        Self::Payment,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Actor => "Actor",
            Self::Partnership => "Partnership",
            Self::Membership => "Membership",
            Self::FundingStream => "FundingStream",
            Self::CeilingRule => "CeilingRule",
            Self::Allocation => "Allocation",
            Self::Programme => "Programme",
            Self::Payment => "Payment",
        }
    }
}

/// The longest type name, for the buffer [`encode`] writes into.
const LONGEST_NAME: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < NodeType::ALL.len() {
        let len = NodeType::ALL[i].name().len();
        if len > longest {
            longest = len;
        }
        i += 1;
    }
    longest
};

pub fn encode(node: NodeType, id: Uuid) -> async_graphql::ID {
    // Written into a buffer on the stack, not with `format!`: a page encodes an id for every
    // node it holds (hundreds), and this way each costs the one allocation of its text.
    let name = node.name().as_bytes();
    let mut plain = [0_u8; LONGEST_NAME + 1 + uuid::fmt::Simple::LENGTH];
    let colon = name.len();
    let end = colon + 1 + uuid::fmt::Simple::LENGTH;
    plain[..colon].copy_from_slice(name);
    plain[colon] = b':';
    id.simple().encode_lower(&mut plain[colon + 1..end]);
    async_graphql::ID(URL_SAFE_NO_PAD.encode(&plain[..end]))
}

/// Reads any global id.
pub fn decode_any(id: &str) -> Option<(NodeType, Uuid)> {
    if id.len() > 100 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let node = NodeType::ALL.into_iter().find(|n| n.name() == name)?;
    Some((node, Uuid::try_parse(uuid).ok()?))
}

/// Reads a global id that must be of type `node`; `field` names the argument for the error.
pub fn decode(node: NodeType, id: &str, field: &str) -> Result<Uuid, ApiError> {
    match decode_any(id) {
        Some((found, uuid)) if found == node => Ok(uuid),
        Some((found, _)) => Err(ApiError::bad_input(
            field,
            format!("is the id of a {}, not of a {}", found.name(), node.name()),
        )),
        None => Err(ApiError::bad_input(
            field,
            "is not an id issued by this registry",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_encodes_as_base64url_of_type_colon_uuid() {
        let uuid = Uuid::now_v7();
        for node in NodeType::ALL {
            let id = encode(node, uuid);
            let plain = format!("{}:{}", node.name(), uuid.simple());
            assert_eq!(id.0, URL_SAFE_NO_PAD.encode(&plain), "{node:?}");
            assert_eq!(decode_any(&id), Some((node, uuid)));
        }
    }

    #[test]
    fn ids_round_trip_and_keep_their_type() {
        let uuid = Uuid::now_v7();
        let id = encode(NodeType::Actor, uuid);
        assert_eq!(decode_any(&id), Some((NodeType::Actor, uuid)));
        assert_eq!(decode(NodeType::Actor, &id, "id").ok(), Some(uuid));
        assert!(matches!(
            decode(NodeType::Partnership, &id, "id"),
            Err(ApiError::BadInput { ref message, .. }) if message.contains("Actor")
        ));
    }

    #[test]
    fn garbage_ids_are_refused() {
        for bad in [
            "",
            "abc",
            "!!!",
            &"A".repeat(200),
            &URL_SAFE_NO_PAD.encode("Ghost:0195"),
        ] {
            assert_eq!(decode_any(bad), None, "{bad}");
        }
    }
}

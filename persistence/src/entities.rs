//! sea-orm entities: one per table, private to this crate. They mirror the migrations and
//! never leave `persistence`: repositories turn rows into domain types.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod actor {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "actor")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: String,
        pub name: String,
        pub name_folded: String,
        pub country: String,
        pub nuts_code: Option<String>,
        pub nuts_version: Option<i32>,
        pub lau_code: Option<String>,
        pub lau_year: Option<i32>,
        pub population: Option<i64>,
        pub parent_id: Option<Uuid>,
        pub pic: Option<String>,
        pub vat_number: Option<String>,
        pub wikidata_id: Option<String>,
        pub website: Option<String>,
        pub email: Option<String>,
        pub verified: bool,
        pub archived_at: Option<DateTimeUtc>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod partnership {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "partnership")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub title: String,
        pub title_folded: String,
        pub description: String,
        pub kind: String,
        pub governance_levels: String,
        pub themes_key: String,
        pub start_date: Date,
        pub end_date: Option<Date>,
        pub status: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod partnership_theme {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "partnership_theme")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub partnership_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub theme: String,
    }

    no_relations!();
}

pub mod membership {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "membership")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub partnership_id: Uuid,
        pub actor_id: Uuid,
        pub roles: String,
        pub is_lead: bool,
        pub joined_on: Date,
        pub left_on: Option<Date>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod funding_stream {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "funding_stream")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub code: String,
        pub name: String,
        pub legal_basis: String,
        pub period_start: Date,
        pub period_end: Date,
        pub category_required: bool,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod ceiling_rule {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "ceiling_rule")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub stream_id: Uuid,
        pub case_code: String,
        pub description: String,
        pub max_rate_bp: i32,
        pub legal_reference: String,
        pub verified: bool,
        pub note: Option<String>,
        pub version: i64,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod allocation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "allocation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub partnership_id: Uuid,
        pub stream_id: Uuid,
        pub ceiling_rule_id: Uuid,
        pub programme_id: Option<Uuid>,
        pub eligible_cost_cents: i64,
        pub eu_contribution_cents: i64,
        pub national_contribution_cents: i64,
        pub status: String,
        pub decision_date: Option<Date>,
        pub decision_year: Option<i32>,
        pub reference: Option<String>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod stream_manager {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "stream_manager")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub stream_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub actor_id: Uuid,
        pub ended_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod programme {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "programme")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub stream_id: Uuid,
        pub code: String,
        pub title: String,
        pub managing_authority_id: Uuid,
        pub country: String,
        pub nuts_code: Option<String>,
        pub nuts_version: Option<i32>,
        pub category_case: Option<String>,
        pub envelope_cents: i64,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod allocation_budget {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "allocation_budget")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub allocation_id: Uuid,
        pub kind: String,
        pub eligible_cost_cents: i64,
        pub eu_contribution_cents: i64,
        pub national_contribution_cents: i64,
        pub reason: Option<String>,
        pub recorded_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod payment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
    #[sea_orm(table_name = "payment")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub allocation_id: Uuid,
        pub kind: String,
        pub amount_cents: i64,
        pub paid_on: Date,
        pub reference: Option<String>,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

//! The content model: one module per table or aggregate. Functions take a connection, not the
//! pool, so a service can combine several in one transaction; they return `QueryResult` or, where
//! they validate, the core [`Error`](crate::Error).

pub mod album;
pub mod api_token;
pub mod audit;
pub mod category;
pub mod change;
pub mod digest;
pub mod gallery_category;
pub mod import_item;
pub mod job;
pub mod outbox;
pub mod photo;
pub mod post;
pub mod rate_limit;
pub mod redirect;
pub mod session;
pub mod site;
pub mod subscriber;
pub mod tag;
pub mod user;
pub mod video;
pub mod webhook;

use chrono::{NaiveDateTime, SubsecRound, Utc};

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends, for case-insensitive matching.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The current UTC time at microsecond precision, the precision both backends store, so a
/// value read back compares equal to the one written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Defines an enum stored as TEXT: `as_str`, `FromStr`, `Display`, serde, and diesel mappings
/// for any backend (both of ours and the multi-backend connection).
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow,
                 serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "lowercase")]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and displayed text of the value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{}' is not one of {}", other, [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = String::from_sql(bytes)?;
                s.parse().map_err(Into::into)
            }
        }
    };
}
pub(crate) use text_enum;

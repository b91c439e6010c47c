//! The envelope of every cursor-paginated listing: `{data, hasMore, nextCursor}`.

use serde::Serialize;

/// A page of a listing; `nextCursor` reads the next one (`?cursor=`), null on the last.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new(data: Vec<T>, next_cursor: Option<String>) -> Self {
        Self {
            data,
            has_more: next_cursor.is_some(),
            next_cursor,
        }
    }

    /// The same page with each item shown another way.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            has_more: self.has_more,
            next_cursor: self.next_cursor,
        }
    }
}

/// A page of `T` is the component `{T}Page`, so each listing's schema is named for what it
/// lists.
#[cfg(feature = "openapi")]
mod openapi {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{Ref, RefOr, Schema};
    use utoipa::ToSchema;

    use super::Page;

    impl<T: ToSchema> utoipa::PartialSchema for Page<T> {
        fn schema() -> RefOr<Schema> {
            let items = Ref::from_schema_name(T::name());
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("data", ArrayBuilder::new().items(items))
                .required("data")
                .property("hasMore", ObjectBuilder::new().schema_type(Type::Boolean))
                .required("hasMore")
                .property(
                    "nextCursor",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .description(Some("?cursor= for the next page; null on the last")),
                )
                .required("nextCursor")
                .into()
        }
    }

    impl<T: ToSchema> ToSchema for Page<T> {
        fn name() -> Cow<'static, str> {
            Cow::Owned(format!("{}Page", T::name()))
        }

        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push((T::name().into_owned(), T::schema()));
            T::schemas(schemas);
        }
    }
}

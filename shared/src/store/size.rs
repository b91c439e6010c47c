//! An item's size as DynamoDB bills it: write units are whole kilobytes of it, so the cost
//! model's "a successful attempt is one write unit" is kept true by a test that measures.

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;

/// Bytes of an item by DynamoDB's rules: each attribute's name plus its value.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        // Up to 38 significant digits, two to a byte, plus one.
        AttributeValue::N(n) => {
            let digits = n.trim_start_matches('-').replace('.', "");
            let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
            significant.div_ceil(2) + 1
        }
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set
            .iter()
            .map(|n| value_size(&AttributeValue::N(n.clone())))
            .sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_count() {
        let item: Item = [
            ("pk".to_string(), AttributeValue::S("T#1".into())),
            ("n".to_string(), AttributeValue::N("12345".into())),
            ("ok".to_string(), AttributeValue::Bool(true)),
            (
                "m".to_string(),
                AttributeValue::M([("a".to_string(), AttributeValue::S("xy".into()))].into()),
            ),
        ]
        .into();
        // pk+T#1 = 5; n + 5 digits → 1 + 4 = 5; ok + 1 = 3; m + (3 + a + xy + 1) = 8.
        assert_eq!(item_size(&item), 5 + 5 + 3 + 8);
    }
}

use futures::StreamExt;
use loam::{Client, CreateDataset, DatasetSchema, NewRecord, RecordQuery, SchemaField};
use serde_json::json;

pub async fn run() -> loam::Result<()> {
    let client = Client::new(std::env::var("LOAM_API_KEY").unwrap_or_default(), std::env::var("LOAM_API_BASE_URL").unwrap_or_default());

    // Create a dataset with a schema
    let dataset = client
        .datasets()
        .create(CreateDataset {
            name: "customer-feedback".into(),
            schema: Some(DatasetSchema {
                fields: vec![
                    SchemaField::new("email", "string").required().pii("email"),
                    SchemaField::new("age", "integer"),
                    SchemaField::new("zip", "string"),
                    SchemaField::new("rating", "integer"),
                    SchemaField::new("comment", "string"),
                ],
            }),
            ..Default::default()
        })
        .await?;

    // Insert records
    client
        .records()
        .insert_many(
            &dataset.id,
            &[
                NewRecord::new(json!({"email": "ada@example.com", "age": 36, "zip": "94107", "rating": 5, "comment": "Great"})),
                NewRecord::new(json!({"email": "alan@example.com", "age": 41, "zip": "94105", "rating": 2, "comment": "Slow"})),
                NewRecord::new(json!({"email": "grace@example.com", "age": 38, "zip": "94103", "rating": 4, "comment": "Good"})),
                NewRecord::new(json!({"email": "edsger@example.com", "age": 44, "zip": "94109", "rating": 5, "comment": "Solid"})),
            ],
        )
        .await?;

    // Query with a filter (every page is fetched as the stream is polled)
    let mut records = client.records().iterate(&dataset.id, RecordQuery::filter(json!({"rating": {"$gte": 4}})).limit(100));
    let mut rows = Vec::new();
    while let Some(record) = records.next().await {
        let record = record?;
        println!("{} {}", record.id, record.data["rating"]);
        rows.push(record.data);
    }

    // Anonymize with k-anonymity and masking
    let result = client
        .anonymization()
        .anonymize(json!({
            "records": rows,
            "operators": {"EMAIL_ADDRESS": {"type": "mask", "masking_char": "*", "keep_last": 4}},
            "privacy_model": {
                "k": 2,
                "quasi_identifiers": [{"field": "age", "type": "number"}, {"field": "zip", "type": "postcode"}]
            }
        }))
        .await?;
    println!("{} {}", result["privacy"]["satisfied"], result["records"][0]);
    assert_eq!(result["privacy"]["satisfied"], json!(true));
    Ok(())
}

#[allow(dead_code)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> loam::Result<()> {
    run().await
}

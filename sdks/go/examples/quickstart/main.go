package main

import (
	"context"
	"fmt"
	"log"
	"os"

	loam "loam.dev/loam-go"
)

func main() {
	ctx := context.Background()
	client := loam.NewClient(loam.WithAPIKey(os.Getenv("LOAM_API_KEY")), loam.WithBaseURL(os.Getenv("LOAM_API_BASE_URL")))

	// Create a dataset with a schema
	dataset, err := client.Datasets.Create(ctx, loam.CreateDatasetParams{
		Name: "customer-feedback",
		Schema: &loam.DatasetSchema{Fields: []loam.SchemaField{
			{Name: "email", Type: "string", Required: true, PII: "email"},
			{Name: "age", Type: "integer"},
			{Name: "zip", Type: "string"},
			{Name: "rating", Type: "integer"},
			{Name: "comment", Type: "string"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Insert records
	_, err = client.Records.InsertMany(ctx, dataset.ID, []loam.NewRecord{
		{Data: loam.JSON{"email": "ada@example.com", "age": 36, "zip": "94107", "rating": 5, "comment": "Great"}},
		{Data: loam.JSON{"email": "alan@example.com", "age": 41, "zip": "94105", "rating": 2, "comment": "Slow"}},
		{Data: loam.JSON{"email": "grace@example.com", "age": 38, "zip": "94103", "rating": 4, "comment": "Good"}},
		{Data: loam.JSON{"email": "edsger@example.com", "age": 44, "zip": "94109", "rating": 5, "comment": "Solid"}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Query with a filter (every page is fetched as you iterate)
	it := client.Records.Iterate(ctx, dataset.ID, loam.RecordQuery{Filter: loam.Filter{"rating": loam.Filter{"$gte": 4}}, Limit: 100})
	var rows []interface{}
	for it.Next() {
		rec := it.Item()
		fmt.Println(rec.ID, rec.Data["rating"])
		rows = append(rows, rec.Data)
	}
	if err := it.Err(); err != nil {
		log.Fatal(err)
	}

	// Anonymize with k-anonymity and masking
	result, err := client.Anonymization.Anonymize(ctx, loam.JSON{
		"records":   rows,
		"operators": loam.JSON{"EMAIL_ADDRESS": loam.JSON{"type": "mask", "masking_char": "*", "keep_last": 4}},
		"privacy_model": loam.JSON{
			"k":                 2,
			"quasi_identifiers": []loam.JSON{{"field": "age", "type": "number"}, {"field": "zip", "type": "postcode"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(result["privacy"], result["records"])
}

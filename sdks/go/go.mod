module loam.dev/loam-go

go 1.19

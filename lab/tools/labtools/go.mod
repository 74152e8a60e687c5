module soci-eks.local/lab/tools/labtools

go 1.24

module ocidecode

go 1.19

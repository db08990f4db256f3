"""Loan services, one module per part of a loan's life: research loans, exhibitions, incidents
and stock checks, publications, obligations."""

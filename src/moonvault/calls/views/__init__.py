"""The pages of allocation rounds: public, applicant and committee."""

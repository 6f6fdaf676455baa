//! Answers in combination (rule 11) over random small rings: property test.

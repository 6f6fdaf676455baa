-- The current basic figures of a domain: for every member and year the row of
-- its latest submission (highest Delta commit version). Earlier submissions stay
-- in the table as history.
-- Input: `figures`, the domain's Delta table. Output: the same columns.
SELECT * EXCLUDE (submission_rank)
FROM (
  SELECT *, row_number() OVER (PARTITION BY member_id, year ORDER BY version DESC) AS submission_rank
  FROM figures
)
WHERE submission_rank = 1

-- The ops database lives beside Dagster's storage on the same server (DESIGN.md, Stores).
CREATE DATABASE meta_agent OWNER dagster;

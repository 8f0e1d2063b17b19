"""Reform indicators: the scoreboard API, its exports, and the working-calendar admin."""

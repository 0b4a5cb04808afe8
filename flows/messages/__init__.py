"""The texts the chat sends, by whom they are for: `questionnaire` (the steps, the review, the
figures), `result` (the preliminary level), `service` (welcome, help and the short lines around
them), `notices` (trainings and events) and `commissioners` (their area, lists and nudges).

Wording is gettext (`ctx.tr`); indicator texts (questions, options, scene levels, level names)
come from the indicator data file; these modules only arrange them for a phone screen.
"""

"""Files Accrue hands to other systems: banks, ERPs, spreadsheets."""

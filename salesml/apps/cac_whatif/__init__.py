"""The CAC what-if app: channel budget sliders and a rule editor over cost allocation."""

"""Form fields shared by the apps' forms."""

from django import forms

from moonvault.core.middleware import out_of_range


class ModelChoiceField(forms.ModelChoiceField):
    """Refuses a choice beyond the 64-bit integers as an invalid choice before looking it up:
    SQLite cannot even bind such a number, and the lookup would fail as a server error."""

    def to_python(self, value):
        if out_of_range(value):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """The same refusal for each of several choices."""

    def _check_values(self, value):
        for choice in value:
            if out_of_range(choice):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": choice},
                )
        return super()._check_values(value)

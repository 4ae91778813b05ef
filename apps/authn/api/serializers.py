from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

# Passwords are compared as typed: never trimmed. The cap only refuses absurd bodies.
MAX_PASSWORD_LENGTH = 4096


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        max_length=MAX_PASSWORD_LENGTH,
        style={"input_type": "password"},
        **kwargs,
    )


class TokenObtainSerializer(serializers.Serializer):
    email = serializers.CharField(write_only=True, max_length=254)
    password = password_field()


class TokenRefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(write_only=True, max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True, help_text="The access token (Bearer).")
    refresh = serializers.CharField(
        read_only=True, help_text="The refresh token: exchange it once for a new pair."
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = password_field()
    new_password = password_field()

    def validate_new_password(self, value):
        user = self.context["request"].user
        try:
            password_validation.validate_password(value, user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from None
        return value


class PasswordChangedSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
    access = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="A new access token when the request was made with one; otherwise null.",
    )
    refresh = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="A new refresh token when the request was made with an access token.",
    )


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(
        write_only=True, max_length=254, help_text="The address of the account."
    )


class PasswordResetConfirmSerializer(serializers.Serializer):
    # The password validators run in the service, once the link has named the user.
    uid = serializers.CharField(
        write_only=True, max_length=256, help_text="The uid from the reset email."
    )
    token = serializers.CharField(
        write_only=True, max_length=256, help_text="The token from the reset email."
    )
    new_password = password_field()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)

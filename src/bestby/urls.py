from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from bestby.web import views

admin.site.site_header = "bestby administration"
admin.site.site_title = "bestby"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

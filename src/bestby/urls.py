from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from bestby.api.main import api
from bestby.web import views, views_accounts, views_import, views_settings, views_shelf
from bestby.web import views_board, views_clearance, views_deal, views_feeds
from bestby.web import views_backtest, views_coverage, views_forecast, views_funnel, views_goals
from bestby.web import views_cadences, views_today
from bestby.web import views_adherence, views_import_undo
from bestby.web.throttle import ThrottledLoginView

admin.site.site_header = "bestby administration"
admin.site.site_title = "bestby"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("board/", views_board.board_page, name="board"),
    path("board/column/<int:stage_id>/", views_board.column_page, name="board_column"),
    path("deals/<str:external_id>/", views_deal.deal_page, name="deal"),
    path("deals/<str:external_id>/curve/", views_deal.deal_curve, name="deal_curve"),
    path("clearance/", views_clearance.review, name="clearance"),
    path("clearance/clear/", views_clearance.clear, name="clearance_clear"),
    path("clearance/snooze/", views_clearance.snooze, name="clearance_snooze"),
    path("clearance/undo/<int:action_id>/", views_clearance.undo, name="clearance_undo"),
    path("clearance/decisions/", views_clearance.decisions_download, name="clearance_decisions"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("today/", views_today.today_page, name="today"),
    path("today/tasks/<int:task_id>/done/", views_today.done, name="today_done"),
    path("today/tasks/<int:task_id>/skip/", views_today.skip, name="today_skip"),
    path("today/tasks/<int:task_id>/engaged/", views_today.engaged, name="today_engaged"),
    path("today/leads/<str:external_id>/convert/", views_today.convert, name="today_convert"),
    path("today/one-more-call/", views_today.one_more_call, name="today_one_more_call"),
    path("cadences/", views_cadences.cadences_page, name="cadences"),
    path("cadences/new/", views_cadences.cadence_new, name="cadence_new"),
    path("cadences/<int:pk>/edit/", views_cadences.cadence_edit, name="cadence_edit"),
    path("cadences/enrol/", views_cadences.enrol, name="cadence_enrol"),
    path("shelf-life/", views_shelf.shelf_life_page, name="shelf_life"),
    path("forecast/", views_forecast.forecast_page, name="forecast"),
    path("coverage/", views_coverage.coverage_page, name="coverage"),
    path("funnel/", views_funnel.funnel_page, name="funnel"),
    path("adherence/", views_adherence.adherence_page, name="adherence"),
    path("backtest/", views_backtest.backtest_page, name="backtest"),
    path("goals/", views_goals.goals_page, name="goals"),
    path("goals/<int:pk>/", views_goals.change_goal, name="goal_change"),
    path("goals/<int:pk>/delete/", views_goals.delete_goal, name="goal_delete"),
    path("accounts/", views_accounts.account_list, name="accounts"),
    path("accounts/<str:external_id>/", views_accounts.account_detail, name="account"),
    path("settings/", views_settings.settings_page, name="settings"),
    path("settings/stages/<int:pipeline_id>/", views_settings.move_stage, name="settings_move_stage"),
    path("settings/policy/", views_settings.save_policy, name="settings_policy"),
    path("import/", views_import.import_page, name="import"),
    path("import/confirm/", views_import.import_confirm, name="import_confirm"),
    path("import/refresh/", views_import.import_refresh, name="import_refresh"),
    path("import/undo/<int:batch>/", views_import_undo.import_undo, name="import_undo"),
    path("export/deals.csv", views_feeds.export_deals, name="export_deals"),
    path("calendar/tasks.ics", views_feeds.tasks_download, name="calendar_tasks"),
    path("calendar/<str:token>.ics", views_feeds.calendar_feed, name="calendar"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]

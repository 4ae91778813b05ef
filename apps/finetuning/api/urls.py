from rest_framework.routers import SimpleRouter

from .views import FineTuningJobViewSet

router = SimpleRouter()
router.register("finetuning-jobs", FineTuningJobViewSet, basename="finetuning-job")

urlpatterns = router.urls

"""The kiosk UI's own labels, in the five languages.

They live in the protocol because the pack builder needs them too: it
segments them into tokens (`i18n/<lang>.json`) and keeps their characters
in the subset fonts it ships, so the UI can draw them with the pack's fonts.
"""

from __future__ import annotations

from typing import Final

UI_STRINGS: Final[dict[str, dict[str, str]]] = {
    "touch_to_start": {
        "vi": "Chạm vào màn hình để bắt đầu",
        "en": "Touch the screen to start",
        "lo": "ແຕະໜ້າຈໍເພື່ອເລີ່ມຕົ້ນ",
        "th": "แตะหน้าจอเพื่อเริ่มต้น",
        "zh": "触摸屏幕开始",
    },
    "choose_language": {
        "vi": "Chọn ngôn ngữ",
        "en": "Choose your language",
        "lo": "ເລືອກພາສາ",
        "th": "เลือกภาษา",
        "zh": "请选择语言",
    },
    "home": {"vi": "Trang chủ", "en": "Home", "lo": "ໜ້າຫຼັກ", "th": "หน้าหลัก", "zh": "首页"},
    "back": {"vi": "Quay lại", "en": "Back", "lo": "ກັບຄືນ", "th": "ย้อนกลับ", "zh": "返回"},
    "language": {"vi": "Ngôn ngữ", "en": "Language", "lo": "ພາສາ", "th": "ภาษา", "zh": "语言"},
    "large_text": {
        "vi": "Chữ lớn",
        "en": "Large text",
        "lo": "ໂຕໜັງສືໃຫຍ່",
        "th": "ตัวอักษรใหญ่",
        "zh": "大字",
    },
    "notice": {
        "vi": "Thông báo khẩn",
        "en": "Urgent notice",
        "lo": "ແຈ້ງການດ່ວນ",
        "th": "ประกาศด่วน",
        "zh": "紧急通知",
    },
    # before the name of the language a notice is shown in, when the traveller's is missing
    "notice_fallback": {
        "vi": "Thông báo này chưa có bằng tiếng Việt. Hiển thị bằng:",
        "en": "This notice is not available in English. Shown in:",
        "lo": "ແຈ້ງການນີ້ບໍ່ມີເປັນພາສາລາວ. ສະແດງເປັນ:",
        "th": "ประกาศนี้ไม่มีฉบับภาษาไทย แสดงเป็น:",
        "zh": "此通知暂无中文版本。显示语言：",
    },
    "close": {"vi": "Đóng", "en": "Close", "lo": "ປິດ", "th": "ปิด", "zh": "关闭"},
    "in_this_section": {
        "vi": "Trong mục này",
        "en": "In this section",
        "lo": "ໃນໝວດນີ້",
        "th": "ในหมวดนี้",
        "zh": "本栏目内容",
    },
    "preparing": {
        "vi": "Ki-ốt đang được chuẩn bị nội dung",
        "en": "This kiosk is being prepared",
        "lo": "ຕູ້ຂໍ້ມູນນີ້ກຳລັງກະກຽມເນື້ອຫາ",
        "th": "ตู้ข้อมูลนี้กำลังเตรียมเนื้อหา",
        "zh": "本信息亭正在准备内容",
    },
}


def ui_text(key: str, lang: str) -> str:
    """The label `key` in `lang`, falling back to English."""
    texts = UI_STRINGS[key]
    return texts.get(lang) or texts["en"]

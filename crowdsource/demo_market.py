"""The demo market: tasks, questions and bids that `flask seed-demo` creates (data only;
crowdsource.demo does the seeding)."""

import dataclasses

from crowdsource.tasks.models import BidMode, ContractType, IPTerms

#: unified social credit codes of the demo organizations
HAILAN = "91370200MA3C9F2X38"
LUSHU = "91370783MA3N8K6R1L"
QILU = "52370000MJD61234XE"
INSTITUTE = "12370000495571234X"

#: who posts, answers and awards the demo tasks (a member of both demo enterprises)
POSTER = "enterprise@example.com"
SOLVER = "solver@example.com"
AGENCY_MEMBER = "agency@example.com"


@dataclasses.dataclass
class DemoBid:
    """A bid of the demo market: amounts in yuan, due dates in days from the seeding."""

    bidder: str
    price: int
    duration_days: int
    proposal: str
    #: (title, amount in yuan, due in days)
    milestones: list
    #: credit code of the agency the bidder bids for (None: as an individual)
    agency: str | None = None
    #: credit code of the payee institution the agency brokers for
    payee: str | None = None
    brokerage_bps: int = 0
    #: "submitted", "shortlisted" or "awarded"
    outcome: str = "submitted"


@dataclasses.dataclass
class DemoTask:
    """A task of the demo market: budget in yuan, deadline and delivery in days from seeding."""

    organization: str
    title: str
    summary: str
    description: str
    contract_type: ContractType
    center: str
    budget: tuple
    deadline_days: int
    delivery_days: int
    fields: list
    skills: list
    bid_mode: BidMode = BidMode.SEALED
    ip_terms: IPTerms = IPTerms.ASSIGNED
    nda_required: bool = False
    #: credit codes of invited agencies: the task is then invite-only
    invited: tuple = ()
    #: (asker's email, question, answer or None)
    questions: tuple = ()
    bids: tuple = ()
    #: "draft", "open", "closed" (bidding ended early) or "awarded"
    state: str = "open"


TASKS = [
    DemoTask(
        organization=HAILAN,
        title="海洋装备防腐涂层技术开发",
        summary="为海上平台钢结构开发长效重防腐涂层体系，设计寿命不低于 15 年。",
        description=(
            "我司为海上风电和海洋牧场平台配套钢结构件，现用环氧富锌涂层体系在浪溅区 5–7 年"
            "即出现起泡和剥落。\n\n"
            "**目标**\n\n"
            "- 开发适用于浪溅区和全浸区的重防腐涂层体系（底漆、中间漆、面漆）；\n"
            "- 达到 ISO 12944-9 CX / Im2 等级，设计寿命不低于 15 年；\n"
            "- 可在我司现有喷涂产线施工，VOC 含量符合 GB 30981。\n\n"
            "**交付**：配方与工艺文件、第三方检测报告、实海挂片试验方案。"
        ),
        contract_type=ContractType.DEVELOPMENT,
        center="huangdao",
        budget=(300_000, 500_000),
        deadline_days=21,
        delivery_days=200,
        fields=["海洋工程", "新材料"],
        skills=["防腐涂层", "电化学"],
        questions=(
            (
                SOLVER,
                "盐雾试验和阴极剥离试验是否须由具备 CMA 资质的第三方实验室完成？",
                "是的，检测报告须由具备 CMA 资质的实验室出具，费用请计入报价。",
            ),
            (
                AGENCY_MEMBER,
                "我中心可代青岛海洋工程研究院投标并签约、由研究院实施，是否可以？",
                "可以。请在投标中写明实施单位和转化佣金比例。",
            ),
        ),
        bids=(
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                payee=INSTITUTE,
                brokerage_bps=1500,
                price=460_000,
                duration_days=180,
                proposal=(
                    "由**青岛海洋工程研究院**海洋腐蚀与防护团队实施，山东齐鲁技术转移服务中心"
                    "负责项目管理与成果转化。\n\n"
                    "- 团队近五年承担 3 项海洋防腐方向的国家重点研发计划课题；\n"
                    "- 自有盐雾、阴极剥离和实海挂片试验条件；\n"
                    "- 拟采用石墨烯改性环氧底漆加聚硅氧烷面漆的体系。"
                ),
                milestones=[
                    ("配方研发与实验室验证", 160_000, 60),
                    ("中试与第三方检测", 180_000, 130),
                    ("实海挂片与技术交付", 120_000, 180),
                ],
            ),
        ),
    ),
    DemoTask(
        organization=LUSHU,
        title="食品加工废水处理工艺咨询",
        summary="果蔬清洗与速冻车间废水日排放约 800 吨，需提出达标纳管和回用的工艺方案。",
        description=(
            "公司净菜与速冻蔬菜车间每天排放约 800 吨废水，COD 1500–3000 mg/L，含泥沙、"
            "果蔬碎屑和少量清洗剂，旺季水量翻倍。\n\n"
            "**需要的咨询成果**\n\n"
            "1. 现状诊断与水量、水质平衡分析；\n"
            "2. 达到《污水综合排放标准》三级并纳管的工艺路线比选（至少两条）；\n"
            "3. 清洗水回用方案，回用率不低于 40%；\n"
            "4. 投资与运行成本估算。"
        ),
        contract_type=ContractType.CONSULTING,
        center="shouguang",
        budget=(80_000, 150_000),
        deadline_days=12,
        delivery_days=75,
        fields=["环境工程", "食品加工"],
        skills=["废水处理", "工艺设计"],
        bid_mode=BidMode.OPEN,
        questions=((SOLVER, "能否提供近一年的水质监测数据和现有处理设施的平面图？", None),),
        bids=(
            DemoBid(
                bidder=SOLVER,
                price=98_000,
                duration_days=60,
                proposal=(
                    "Eight years of wastewater work for food plants. I will sample on site for a "
                    "week, run jar tests, and use **CFD** to size the settling and flotation "
                    "tanks. 可驻厂一周采样。"
                ),
                milestones=[
                    ("现场调研与水质诊断报告", 38_000, 25),
                    ("工艺比选与回用方案", 60_000, 60),
                ],
            ),
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                price=126_000,
                duration_days=70,
                proposal=(
                    "中心组织环保工程公司与高校专家组成咨询组，提供诊断、工艺比选、回用方案和"
                    "专家评审的全流程服务。"
                ),
                milestones=[("诊断报告", 50_000, 30), ("工艺方案与专家评审", 76_000, 70)],
            ),
        ),
    ),
    DemoTask(
        organization=HAILAN,
        title="冲压生产线PLC控制系统改造",
        summary="将两条冲压线的 S7-300 控制系统升级为 S7-1500，并接入车间 MES。",
        description=(
            "两条 800 吨冲压线（2012 年投产）使用西门子 S7-300 和老式触摸屏，备件停产，"
            "故障排查困难。\n\n"
            "**范围**\n\n"
            "- PLC 升级为 S7-1500，保留现有伺服和安全回路；\n"
            "- 重做 HMI 画面，报警和产量数据通过 OPC UA 接入 MES；\n"
            "- 利用周末停线施工，每条线停线不超过 72 小时；\n"
            "- 交付程序源码、电气图纸并培训操作和维护人员。"
        ),
        contract_type=ContractType.SERVICE,
        center="qingdao",
        budget=(200_000, 350_000),
        deadline_days=30,
        delivery_days=120,
        fields=["智能制造", "工业自动化"],
        skills=["PLC", "OPC UA", "HMI"],
        questions=((AGENCY_MEMBER, "现有安全回路是否需要按 ISO 13849 重新评估性能等级？", None),),
        bids=(
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                price=285_000,
                duration_days=90,
                proposal=(
                    "由中心合作的西门子认证系统集成商实施，已完成 20 余条冲压线改造；"
                    "先离线仿真调试，再分线切换，保证停线时间。"
                ),
                milestones=[
                    ("方案设计与离线调试", 85_000, 40),
                    ("1 号线切换与试产", 100_000, 70),
                    ("2 号线切换、培训与验收", 100_000, 90),
                ],
            ),
        ),
    ),
    DemoTask(
        organization=HAILAN,
        title="磷酸锰铁锂正极材料专利技术转让",
        summary="为无人艇动力电池求购磷酸锰铁锂（LMFP）正极材料制备的发明专利及配套工艺。",
        description=(
            "公司拟在淄博建设无人艇与海洋观测设备用储能电池产线，求购磷酸锰铁锂正极材料"
            "制备方法的发明专利（已授权）。\n\n"
            "**要求**\n\n"
            "- 压实密度不低于 2.4 g/cm³，0.1C 放电比容量不低于 150 mAh/g；\n"
            "- 专利权属清晰、无质押，可办理转让登记；\n"
            "- 转让方提供工艺包并指导中试一次。\n\n"
            "本需求仅邀请合作的技术转移机构参与。"
        ),
        contract_type=ContractType.TRANSFER,
        center="zibo",
        budget=(500_000, 1_200_000),
        deadline_days=40,
        delivery_days=150,
        fields=["新能源", "新材料"],
        skills=["锂电池", "正极材料", "专利"],
        invited=(QILU,),
        questions=(
            (
                AGENCY_MEMBER,
                "是否接受“专利转让加技术秘密许可”的组合方式？",
                "接受，但专利须办理转让登记，技术秘密部分请单独列明费用。",
            ),
        ),
        bids=(
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                price=950_000,
                duration_days=120,
                proposal=(
                    "中心已与省内一所高校的课题组就 2 件授权发明专利达成转让意向，"
                    "专利权属与法律状态已核查，附检索报告。"
                ),
                milestones=[
                    ("专利转让登记完成", 600_000, 45),
                    ("工艺包交付与中试指导", 350_000, 120),
                ],
            ),
        ),
    ),
    DemoTask(
        organization=HAILAN,
        title="Machine-vision inspection of stamped brackets",
        summary="Find burrs, cracks and missing holes on stamped steel brackets at 60 parts a minute.",
        description=(
            "Our stamping line makes 40 kinds of steel brackets for marine winches. Two "
            "inspectors check them by eye, and about 0.3% of defects still reach customers.\n\n"
            "**We need**\n\n"
            "- a camera station that finds burrs over 0.2 mm, cracks and missing holes;\n"
            "- 60 parts a minute with false rejects below 1%;\n"
            "- an OK/NG signal to the PLC of the reject gate and a daily defect report;\n"
            "- a way for our engineers to teach a new part themselves."
        ),
        contract_type=ContractType.DEVELOPMENT,
        center="qingdao",
        budget=(150_000, 260_000),
        deadline_days=18,
        delivery_days=120,
        fields=["智能制造", "quality inspection"],
        skills=["machine vision", "Python", "deep learning"],
        bid_mode=BidMode.OPEN,
        questions=(
            (
                SOLVER,
                "May the detector run on an industrial PC with a GPU, or must it run on the PLC?",
                "An industrial PC is fine: include it in the hardware list. The PLC only needs "
                "the OK/NG signal.",
            ),
        ),
        bids=(
            DemoBid(
                bidder=SOLVER,
                price=198_000,
                duration_days=100,
                proposal=(
                    "I built two such stations for automotive stampings (Python, OpenCV and a "
                    "YOLO detector). Your engineers will teach new parts from 50 sample images."
                ),
                milestones=[
                    ("Image acquisition and defect dataset", 48_000, 30),
                    ("Detection model and station prototype", 90_000, 75),
                    ("Line integration and acceptance", 60_000, 100),
                ],
            ),
        ),
    ),
    DemoTask(
        organization=HAILAN,
        title="船用电气设备CCS型式认可检测认证服务",
        summary="为新型船用配电箱办理中国船级社（CCS）型式认可，含环境试验与 EMC 检测。",
        description=(
            "我司新开发的 440 V 船用配电箱须取得 CCS 型式认可后方可装船。\n\n"
            "**服务内容**\n\n"
            "- 依据 CCS 型式认可试验指南编制试验大纲；\n"
            "- 组织高低温、湿热、振动、盐雾和 EMC 试验；\n"
            "- 协助准备图纸资料并陪同审核，直至取得证书。"
        ),
        contract_type=ContractType.SERVICE,
        center="huangdao",
        budget=(60_000, 100_000),
        deadline_days=9,
        delivery_days=60,
        fields=["检测认证", "船舶电气"],
        skills=["CCS", "EMC", "型式认可"],
        bids=(
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                price=86_000,
                duration_days=55,
                proposal="中心与黄岛两家 CNAS 认可实验室长期合作，可在 8 周内完成全部试验与审核。",
                milestones=[
                    ("试验大纲与送样", 26_000, 15),
                    ("试验完成与报告", 40_000, 40),
                    ("取得型式认可证书", 20_000, 55),
                ],
            ),
        ),
    ),
    DemoTask(
        organization=HAILAN,
        title="水下机器人推进器流体噪声仿真与优化",
        summary="降低观测级水下机器人推进器的辐射噪声；详细参数在接受保密条款后可见。",
        description=(
            "**保密信息。** 我司观测级 ROV 的 4 台 1.2 kW 推进器在 3 节航速下辐射噪声偏高，"
            "干扰搭载的声学设备。\n\n"
            "**任务**\n\n"
            "- 建立推进器（导管加七叶螺旋桨）的 CFD 与声学仿真模型（LES + FW-H）；\n"
            "- 找出主要噪声源，提出桨叶与导管的改型方案；\n"
            "- 在我司水池完成改型样件对比测试，宽带噪声降低不少于 6 dB。"
        ),
        contract_type=ContractType.DEVELOPMENT,
        center="laoshan",
        budget=(250_000, 400_000),
        deadline_days=25,
        delivery_days=160,
        fields=["海洋装备", "流体力学"],
        skills=["CFD", "水动力噪声", "螺旋桨设计"],
        nda_required=True,
        questions=(
            (
                SOLVER,
                "Is the hydrophone data of the tank tests available as raw time series?",
                "可以提供原始时域数据（采样率 96 kHz），签约后交付。",
            ),
        ),
        bids=(
            DemoBid(
                bidder=SOLVER,
                price=320_000,
                duration_days=150,
                proposal=(
                    "Ten years of CFD for marine propulsors; I have validated LES + FW-H models "
                    "of ducted propellers against tank measurements."
                ),
                milestones=[
                    ("Baseline CFD and acoustic model", 100_000, 50),
                    ("Redesign and optimisation", 120_000, 110),
                    ("Prototype tank test and report", 100_000, 150),
                ],
            ),
        ),
    ),
    DemoTask(
        organization=HAILAN,
        title="海上风电导管架阴极保护方案设计",
        summary="为 8 MW 海上风机导管架基础设计牺牲阳极阴极保护方案，设计寿命 25 年。",
        description=(
            "我司承接一个海上风电项目的导管架基础制造，需要完成牺牲阳极阴极保护设计。\n\n"
            "- 依据 DNV-RP-B401 计算电流需求与阳极用量（设计寿命 25 年）；\n"
            "- 给出阳极布置图与安装要求；\n"
            "- 出具可提交业主和认证机构的设计报告。"
        ),
        contract_type=ContractType.CONSULTING,
        center="huangdao",
        budget=(120_000, 200_000),
        deadline_days=14,
        delivery_days=90,
        fields=["海上风电", "海洋工程"],
        skills=["阴极保护", "DNV-RP-B401"],
        questions=(
            (
                AGENCY_MEMBER,
                "设计是否需要考虑与导管架涂层体系的匹配？",
                "需要，涂层破损系数按 DNV 推荐值选取。",
            ),
        ),
        bids=(
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                payee=INSTITUTE,
                brokerage_bps=1500,
                price=178_000,
                duration_days=75,
                proposal=(
                    "青岛海洋工程研究院阴极保护课题组曾为黄海、渤海 6 个海上风电场完成阴极保护"
                    "设计，由研究院实施，本中心负责合同与成果转化。"
                ),
                milestones=[("计算书与阳极选型", 70_000, 30), ("布置图与设计报告", 108_000, 75)],
                outcome="awarded",
            ),
            DemoBid(
                bidder=SOLVER,
                price=155_000,
                duration_days=60,
                proposal="DNV-RP-B401 calculation with a boundary-element check of the potentials.",
                milestones=[
                    ("Current demand calculation", 55_000, 25),
                    ("Anode layout and report", 100_000, 60),
                ],
            ),
        ),
        state="awarded",
    ),
    DemoTask(
        organization=LUSHU,
        title="智能温室环境监控系统升级与运维服务",
        summary="为 120 座蔬菜大棚的温湿度、CO₂ 和水肥监控系统升级数据平台并运维一年。",
        description=(
            "公司 120 座日光温室装有温湿度、光照、CO₂ 传感器和水肥一体机，但平台老旧，"
            "传感器经常掉线。\n\n"
            "**服务内容**\n\n"
            "- 更换失效传感器，掉线率降到 2% 以下；\n"
            "- 将数据平台迁移上云，提供手机报警；\n"
            "- 提供 12 个月运维，故障 24 小时内响应。"
        ),
        contract_type=ContractType.SERVICE,
        center="shouguang",
        budget=(100_000, 180_000),
        deadline_days=16,
        delivery_days=100,
        fields=["智慧农业", "物联网"],
        skills=["IoT", "Python", "数据平台"],
        bid_mode=BidMode.OPEN,
        bids=(
            DemoBid(
                bidder=SOLVER,
                price=136_000,
                duration_days=90,
                proposal=(
                    "I will move the platform to MQTT and a time-series database, with alarms "
                    "on WeChat, and keep it running for a year."
                ),
                milestones=[
                    ("Sensor audit and replacement", 46_000, 30),
                    ("Cloud platform and mobile alarms", 60_000, 70),
                    ("First quarter of operation", 30_000, 100),
                ],
                outcome="shortlisted",
            ),
            DemoBid(
                bidder=AGENCY_MEMBER,
                agency=QILU,
                price=152_000,
                duration_days=90,
                proposal="中心合作的农业物联网企业在寿光有常驻运维团队，可 4 小时到场。",
                milestones=[
                    ("设备巡检与传感器更换", 52_000, 30),
                    ("平台迁移上线", 70_000, 70),
                    ("首季度运维报告", 30_000, 100),
                ],
            ),
        ),
        state="closed",
    ),
    DemoTask(
        organization=HAILAN,
        title="总装车间AGV集群调度系统开发",
        summary="为总装车间 30 台潜伏式 AGV 开发统一调度系统，对接 WMS 与 MES。",
        description=(
            "总装车间现有三个品牌共 30 台潜伏式 AGV，各用各的调度软件，路口经常互锁。\n\n"
            "- 统一调度与交通管理，符合 VDA 5050 接口；\n"
            "- 对接 WMS 与 MES 的任务下发；\n"
            "- 高峰期 30 台同时运行无死锁。"
        ),
        contract_type=ContractType.DEVELOPMENT,
        center="qingdao",
        budget=(400_000, 600_000),
        deadline_days=35,
        delivery_days=240,
        fields=["智能制造", "物流"],
        skills=["AGV", "调度算法", "VDA 5050"],
        state="draft",
    ),
    DemoTask(
        organization=HAILAN,
        title="Remaining-useful-life prediction for hydraulic pumps",
        summary="Advice on predicting when the hydraulic pumps of our winches will fail, "
        "from vibration and pressure data.",
        description=(
            "We log vibration (25.6 kHz) and outlet pressure of hydraulic pumps on our winch "
            "test benches and on 40 winches at sea.\n\n"
            "We want an independent consultant to review our data, recommend features and "
            "models for remaining-useful-life prediction, and write a plan for a pilot."
        ),
        contract_type=ContractType.CONSULTING,
        center="licheng",
        budget=(50_000, 90_000),
        deadline_days=10,
        delivery_days=70,
        fields=["predictive maintenance", "液压"],
        skills=["Python", "machine learning", "vibration analysis"],
        ip_terms=IPTerms.LICENSED,
        questions=((SOLVER, "How many run-to-failure records do you have?", None),),
    ),
    DemoTask(
        organization=HAILAN,
        title="海水淡化反渗透膜组件专利实施许可",
        summary="求取抗污染反渗透膜组件相关专利的普通实施许可，用于船用海水淡化装置。",
        description=(
            "我司船用海水淡化装置（日产水 20–50 吨）拟采用抗污染反渗透膜组件，"
            "求取相关发明专利的普通实施许可，许可期限不少于 5 年，地域为中国大陆。"
        ),
        contract_type=ContractType.TRANSFER,
        center="jinan",
        budget=(200_000, 300_000),
        deadline_days=28,
        delivery_days=120,
        fields=["海水淡化", "膜技术"],
        skills=["反渗透", "专利许可"],
        bid_mode=BidMode.OPEN,
        ip_terms=IPTerms.LICENSED,
    ),
    DemoTask(
        organization=LUSHU,
        title="蔬菜冷链全程温度追溯系统开发",
        summary="开发从采收、预冷到冷库和冷藏车的全程温度追溯系统，对接商超追溯平台。",
        description=(
            "公司每天向京津和长三角商超发运约 200 吨净菜，商超要求提供全程温度记录。\n\n"
            "- 采收筐和托盘的温度标签与扫码方案；\n"
            "- 冷库、冷藏车温度数据自动采集；\n"
            "- 按批次生成温度曲线，对接商超的追溯接口。"
        ),
        contract_type=ContractType.DEVELOPMENT,
        center="weifang",
        budget=(150_000, 250_000),
        deadline_days=32,
        delivery_days=150,
        fields=["冷链物流", "食品安全"],
        skills=["IoT", "Python", "追溯系统"],
        bids=(
            DemoBid(
                bidder=SOLVER,
                price=210_000,
                duration_days=120,
                proposal="A batch-centred data model with BLE temperature tags; pilot on one line.",
                milestones=[
                    ("Data model and tag pilot", 80_000, 45),
                    ("Full rollout and retailer interface", 130_000, 120),
                ],
            ),
        ),
    ),
]
